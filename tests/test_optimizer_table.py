"""The one table of optimizers and schedulers (nncgraph/optimizers.py) and what is made from it."""
from __future__ import annotations

import os

import pytest

from conftest import ROOT, tiny_project, write_digits
from nncgraph.optimizers import DECOUPLED, L2, OPTIMIZERS, SCHEDULERS, WARMUP, WARMUP_MESSAGE, with_docs_tables


def test_docs_project_file_tables_are_generated_from_the_table():
    with open(os.path.join(ROOT, "docs", "project-file.md"), encoding="utf-8") as f:
        text = f.read()
    assert text == with_docs_tables(text), "run `make docs` to regenerate the tables in docs/project-file.md"


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_every_optimizer_is_an_nnabla_solver_with_its_proto_message(kind):
    """nnabla takes the table's arguments and its proto message has the table's fields."""
    import nnabla.solvers as S
    from nnabla.utils import nnabla_pb2

    table = OPTIMIZERS[kind]
    own = table.params + ((table.decay,) if table.decay_kind == DECOUPLED else ())
    solver = getattr(S, kind)(**{h.nnabla: h.default for h in own})
    assert solver.name == kind
    message = getattr(nnabla_pb2.Solver(), table.message)
    for h in own:
        assert h.nnabla in message.DESCRIPTOR.fields_by_name, (kind, h.nnabla)
    assert table.decay_kind == L2 or table.decay.default > 0


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_every_scheduler_has_its_proto_message(kind):
    from nnabla.utils import nnabla_pb2

    table = SCHEDULERS[kind]
    message = getattr(nnabla_pb2.Solver(), table.message).DESCRIPTOR.fields_by_name
    for field in [p.nnabla for p in table.params if p.nnabla] + [table.span_field, table.interval_field]:
        assert not field or field in message, (kind, field)
    assert WARMUP.nnabla in getattr(nnabla_pb2.Solver(), WARMUP_MESSAGE).DESCRIPTOR.fields_by_name


def _exported(tmp_path, optimizer: str):
    from google.protobuf import text_format
    from nnabla.utils import nnabla_pb2

    from nncgraph.interop.nnp_export import export_project
    from nncgraph.interop.nnp_import import import_nnp
    from nncgraph.project.load import load_project

    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    text = open(project).read().replace("seed: 1}", f"seed: 1, optimizer: {optimizer}}}")
    open(project, "w").write(text)
    export_project(load_project(project), str(tmp_path / "m.nntxt"), "nntxt", base_dir=str(tmp_path))
    proto = text_format.Merge((tmp_path / "m.nntxt").read_text(), nnabla_pb2.NNablaProtoBuf())
    back = tmp_path / "back.yaml"
    back.write_text(import_nnp(str(tmp_path / "m.nntxt"), str(back)))
    return proto.optimizer[0].solver, load_project(str(back)).training.optimizer


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_each_optimizer_round_trips_through_nntxt(tmp_path, kind):
    """Every hyper-parameter and the weight decay come back, the decoupled one included (nnabla's own save
    leaves AdamW's and AMSGRAD's messages empty; before the table AdamW's wd came back as the default)."""
    table = OPTIMIZERS[kind]
    values = {h.name: round(h.default * 0.5, 9) for h in table.params}
    written = ", ".join(f"{k}: {v}" for k, v in values.items())
    solver, back = _exported(tmp_path, f"{{type: {kind}, {written}, weight_decay: 0.003}}")
    assert solver.type == kind
    message = getattr(solver, table.message)
    assert [getattr(message, h.nnabla) for h in table.params] == pytest.approx(list(values.values()))
    if table.decay_kind == L2:
        assert solver.weight_decay == pytest.approx(0.003)
    else:     # the decay is the solver's own; nnabla_cli would apply solver.weight_decay on top
        assert solver.weight_decay == 0 and getattr(message, table.decay.nnabla) == pytest.approx(0.003)
    assert (back.type, back.weight_decay) == (kind, 0.003)
    assert back.params == pytest.approx(values)
