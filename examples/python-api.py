# %% [markdown]
# # nncgraph from Python
#
# A notebook-style walk through the Python API (docs/python-api.md): cells marked `# %%`, which VS Code,
# PyCharm and Jupytext open as a notebook; `python examples/python-api.py` runs it top to bottom.
# Run it from the repository root after `make data` (the bundled digits in data/mnist/).

# %%
import glob

import nncgraph

project = nncgraph.load("projects/lenet-mnist.yaml")
table = project.check()
for layer in table["networks"]["Main"]["variants"]["runtime"]["layers"]:
    print(f"{layer['name']:<16} {str(layer['output']):<14} {layer['params']:>8,} params {layer['macs']:>10,} MACs")

# %% [markdown]
# Two epochs instead of the project's ten: a new Project, the loaded one stays as it is.

# %%
quick = project.with_overrides(epochs=2)
run = quick.train(out="runs/notebook", log=lambda line: None)
for row in run.metrics:
    print(f"epoch {row['epoch']}: cost {row['cost']:.4f}, validation error {row['valid_error']:.4f}")

# %% [markdown]
# The learning curve, as a plot (metrics.csv's rows are plain dicts).

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

epochs = [row["epoch"] for row in run.metrics]
plt.plot(epochs, [row["cost"] for row in run.metrics], label="training cost")
plt.plot(epochs, [row["valid_error"] for row in run.metrics], label="validation error")
plt.xlabel("epoch")
plt.legend()
plt.savefig(f"{run.path}/notebook-curve.png")

# %% [markdown]
# The confusion matrix and the digits most often mistaken for another.

# %%
metrics = run.evaluate()
print(f"accuracy {metrics['accuracy']:.4f}")
matrix = metrics["confusion_matrix"]
mistakes = sorted(((matrix[t][p], t, p) for t in range(10) for p in range(10) if t != p), reverse=True)[:3]
for count, true, predicted in mistakes:
    print(f"{count} x {true} taken for {predicted}")

# %% [markdown]
# Predictions for a few image files, and the run opened again later (in another session, say).

# %%
images = sorted(glob.glob("data/mnist/images/3/*.png"))[:5]
for prediction in run.infer(images):
    print(prediction["input"], prediction["label"], f"{prediction['probability']:.3f}")

same = nncgraph.open_run(run.path)
print(same.result["best_epoch"], same.valid_error == run.valid_error)
