"""`accelerate launch` with two CPU processes (DDP over gloo) trains the same model on both ranks.

The run uses the DDP config file users launch on GPUs (`examples/accelerate/ddp.yaml`) with two processes and
`use_cpu`. Both ranks must end with the same parameters, and those must equal a single process trained with
the same global batch through gradient accumulation.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from biomed_vital.testing import tiny_llava
from biomed_vital.tuning import training_rows

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "examples" / "accelerate"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_accelerate_config_files_load_and_name_the_three_strategies():
    from accelerate.commands.config.config_args import load_config_from_file

    configs = {path.stem: load_config_from_file(str(path)) for path in CONFIGS.glob("*.yaml")}
    assert {name: config.distributed_type.value for name, config in configs.items()} == {
        "ddp": "MULTI_GPU",
        "deepspeed_zero3": "DEEPSPEED",
        "fsdp": "FSDP",
    }
    assert configs["deepspeed_zero3"].deepspeed_config["zero_stage"] == 3
    fsdp = configs["fsdp"].fsdp_config
    assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp["fsdp_activation_checkpointing"] is False  # the trainer's gradient checkpointing does it


@pytest.mark.slow
def test_two_cpu_processes_train_the_same_model(tmp_path, short_conversations):
    rows = tmp_path / "rows"
    training_rows(short_conversations.select(range(8)), source="demonstrations").save_to_disk(rows)
    out = tmp_path / "ddp"
    out.mkdir()
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(CONFIGS / "ddp.yaml"),
        "--num_processes", "2",
        "--mixed_precision", "no",
        "--main_process_port", str(_free_port()),
        str(REPO / "tests" / "tuning" / "ddp_train.py"), str(rows), str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["accumulation"] for r in ranks] == [1, 1]  # 2 processes x 2 rows = the global batch of 4
    for name, parameter in ranks[0]["parameters"].items():
        torch.testing.assert_close(ranks[1]["parameters"][name], parameter)

    from tests.tuning.ddp_train import train

    single = train(str(rows), str(tmp_path / "single"))
    assert single.args.gradient_accumulation_steps == 2
    trained = {name: parameter.detach() for name, parameter in single.model.named_parameters()}
    for name, parameter in ranks[0]["parameters"].items():
        torch.testing.assert_close(parameter, trained[name], rtol=1e-4, atol=1e-5)
    initial = dict(tiny_llava(seed=0)[0].named_parameters())
    moved = [name for name, parameter in trained.items() if not torch.allclose(parameter, initial[name])]
    assert any("language_model" in name for name in moved)  # the comparison is between trained models
