"""StandInConfig, FaultConfig and LatencyModel: validation, sampling and the round trip through flags."""

from __future__ import annotations

import pytest

from biomed_vital.cli.commands.serve_standin import build_parser
from biomed_vital.testing import FaultConfig, LatencyModel, StandInConfig
from biomed_vital.testing.standin.config import DEFAULT_MODELS


def test_fault_config_validates_probabilities():
    with pytest.raises(ValueError, match="add up"):
        FaultConfig(server_error=0.7, rate_limit=0.6)
    with pytest.raises(ValueError, match="not a probability"):
        FaultConfig(timeout=1.5)
    with pytest.raises(ValueError, match="NAME=VALUE"):
        FaultConfig.from_pairs(["explode=0.1"])


def test_latency_model_lognormal_matches_median_and_p99():
    model = LatencyModel.lognormal(median=0.2, p99=2.0, seed=1)
    samples = sorted(model.sample(f"key-{index}") for index in range(4000))
    assert samples[2000] == pytest.approx(0.2, rel=0.1)
    assert samples[3960] == pytest.approx(2.0, rel=0.25)
    assert LatencyModel.fixed(0.05, per_completion_token=0.01).sample(
        "k", 1, completion_tokens=10
    ) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="median"):
        LatencyModel(median=1.0, p99=0.5)


def test_from_parts_keeps_the_latency_and_fault_models_with_their_seed_offsets():
    latency = LatencyModel.lognormal(median=0.2, p99=1.7, per_completion_token=0.003, seed=4)
    faults = FaultConfig(rate_limit=0.1, truncated=0.3, hang_seconds=12.5, retry_after=2.0, seed=9)
    config = StandInConfig.from_parts(rpm=60, tpm=9000, latency=latency, faults=faults, seed=100)
    assert config.latency_model() == LatencyModel(0.2, 1.7, 0.003, seed=104)
    assert config.fault_config() == FaultConfig(
        rate_limit=0.1, truncated=0.3, hang_seconds=12.5, retry_after=2.0, seed=109
    )
    assert (config.rpm, config.tpm, config.seed, config.models) == (60, 9000, 100, list(DEFAULT_MODELS))


def test_flags_parse_back_to_the_same_config():
    config = StandInConfig.from_parts(
        rpm=7,
        latency=LatencyModel.lognormal(0.05, 0.5, seed=2),
        faults=FaultConfig(server_error=0.25, disconnect=0.125, seed=-1),
        seed=3,
        models=["model-a", "model-b"],
    )
    _, parsed = build_parser().parse(["--port", "0", *config.to_flags()])
    assert parsed == config
    _, default = build_parser().parse(StandInConfig().to_flags())
    assert default == StandInConfig()


def test_repeated_and_spaced_list_flags_both_collect_and_replace_the_default(tmp_path):
    parser = build_parser()
    _, repeated = parser.parse(["--fault", "rate_limit=0.2", "--fault", "server_error=0.05", "--model", "m1"])
    _, spaced = build_parser().parse(["--fault", "rate_limit=0.2", "server_error=0.05", "--models", "m1"])
    assert repeated == spaced
    assert repeated.fault == ["rate_limit=0.2", "server_error=0.05"] and repeated.models == ["m1"]
    config_file = tmp_path / "standin.yaml"
    config_file.write_text("rpm: 30\nfault: truncated=0.5\nmodels: [from-file]\n")
    _, from_file = build_parser().parse(["--config", str(config_file)])
    assert (from_file.rpm, from_file.fault, from_file.models) == (30, ["truncated=0.5"], ["from-file"])
    _, overridden = build_parser().parse(["--config", str(config_file), "--model", "from-flag"])
    assert overridden.models == ["from-flag"] and overridden.fault == ["truncated=0.5"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rpm": 0}, "rpm=0"),
        ({"fault": ["explode=0.1"]}, "explode"),
        ({"fault": ["timeout=0.7", "disconnect=0.7"]}, "add up"),
        ({"latency_median": 1.0, "latency_p99": 0.5}, "median"),
        ({"models": []}, "models"),
    ],
)
def test_config_rejects_bad_values_when_built(settings, message):
    with pytest.raises(ValueError, match=message):
        StandInConfig(**settings)
