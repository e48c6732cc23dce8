"""GPT4VGenerator end to end over HTTP against the stand-in server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from biomed_vital.generation import GPT4VGenerator
from biomed_vital.testing import FaultConfig, LatencyModel, StandInServer
from tests.generation.helpers import make_figures, requests_sent_after_success


def generator_for(server, tmp_path, **options) -> GPT4VGenerator:
    options.setdefault("show_progress", False)
    options.setdefault("backoff_base", 0.02)
    options.setdefault("backoff_max", 0.2)
    return GPT4VGenerator(
        "gpt-4o",
        base_url=server.base_url,
        api_key="sk-local-test",
        cache_dir=str(tmp_path / "cache"),
        **options,
    )


def test_candidates_have_the_contract_columns(server, tmp_path, figures) -> None:
    candidates = generator_for(server, tmp_path).generate(figures)
    for column in [*figures.column_names, "candidate_id", "messages", "generator", "prompt_sha", "usage"]:
        assert column in candidates.column_names
    assert {"status", "error", "raw_response"} <= set(candidates.column_names)
    assert candidates.features["image"] == figures.features["image"]
    assert list(candidates["candidate_id"][:]) == [f"{i}-c0" for i in figures["id"][:]]
    for row in candidates:
        assert row["status"] == "ok" and row["error"] == ""
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and len(roles) >= 6
        assert all("<image>" not in m["content"] for m in row["messages"])
        assert row["generator"] == "gpt-4o"
        assert len(row["prompt_sha"]) == 64
        assert row["usage"]["prompt_tokens"] > 0 and row["usage"]["completion_tokens"] > 0
        assert row["raw_response"].startswith("User:")
    # the stand-in answers from the caption it was sent, so the request carried this figure's caption
    assert (
        "Synthetic test caption 3" in candidates[3]["messages"][1]["content"] + candidates[3]["raw_response"]
    )


def test_the_request_carries_image_caption_and_mentions(server, tmp_path, figures) -> None:
    request = generator_for(server, tmp_path, image_detail="low").build_requests(figures)[2]
    body = request.build()
    system, user = body["messages"][0], body["messages"][-1]
    assert system["role"] == "system" and "score" not in system["content"].lower()
    image, text = user["content"]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/")
    assert image["image_url"]["detail"] == "low"
    assert "Caption: Synthetic test caption 2" in text["text"]
    assert "Mentions:\n- Synthetic mention 2" in text["text"]
    assert body["seed"] == 0


def test_candidates_of_one_figure_differ_by_seed(server, tmp_path, figures) -> None:
    candidates = generator_for(server, tmp_path, n_candidates=3, seed=10).generate(figures.select(range(4)))
    assert len(candidates) == 12
    assert len(set(candidates["candidate_id"][:])) == 12
    assert Counter(e["seed"] for e in server.request_log()) == {10: 4, 11: 4, 12: 4}
    first_figure = candidates.filter(lambda r: r["id"] == "fig0000")
    assert sorted(first_figure["candidate_index"][:]) == [0, 1, 2]


def test_two_answer_mode_emits_paired_candidates(server, tmp_path, figures) -> None:
    candidates = generator_for(server, tmp_path, two_answers=True).generate(figures.select(range(3)))
    assert len(candidates) == 6
    assert list(candidates["answer_variant"][:]) == ["A", "B"] * 3
    for a, b in zip(candidates.select(range(0, 6, 2)), candidates.select(range(1, 6, 2)), strict=True):
        assert a["pair_id"] == b["pair_id"] == a["candidate_id"][:-2]
        assert a["status"] == b["status"] == "ok"
        questions = [[m["content"] for m in row["messages"] if m["role"] == "user"] for row in (a, b)]
        assert questions[0] == questions[1]
        assert a["messages"] != b["messages"]
    assert len(server.request_log()) == 3  # one request per pair
    # the pair's one request is counted once: its usage is on the A row, the B row reports none
    stats = server.stats()
    total = Counter()
    for usage in candidates["usage"][:]:
        total.update(usage)
    assert total == {"prompt_tokens": stats["prompt_tokens"], "completion_tokens": stats["completion_tokens"]}
    assert all(
        row["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}
        for row in candidates
        if row["answer_variant"] == "B"
    )
    assert all(row["usage"]["completion_tokens"] > 0 for row in candidates if row["answer_variant"] == "A")


def test_figures_without_an_image_become_error_rows_without_a_request(server, tmp_path, figures) -> None:
    from datasets import Dataset

    rows = figures.select(range(3)).to_list()
    rows[1]["image"] = None
    broken = Dataset.from_list(rows, features=figures.features)
    candidates = generator_for(server, tmp_path).generate(broken)
    assert list(candidates["status"][:]) == ["ok", "error", "ok"]
    assert candidates[1]["error"].startswith("no image")
    assert len(server.request_log()) == 2


def test_bad_input_is_refused_with_a_clear_error(server, tmp_path, figures) -> None:
    from datasets import Dataset

    generator = generator_for(server, tmp_path)
    duplicated = Dataset.from_list(figures.select([0, 0]).to_list(), features=figures.features)
    with pytest.raises(ValueError, match="fig0000.*rows 0 and 1"):
        generator.generate(duplicated)
    with pytest.raises(KeyError, match="image"):
        generator.generate(figures.remove_columns("image"))
    with pytest.raises(ValueError, match="score"):
        GPT4VGenerator("gpt-4o", api_key="x", system_prompt="Give each figure a score.")


def test_dry_run_estimates_without_sending(server, tmp_path, figures) -> None:
    generator = generator_for(server, tmp_path, n_candidates=2, max_tokens=1000)
    estimate = generator.estimate_cost(figures)
    assert estimate.n_requests == 24 and estimate.completion_tokens == 24_000
    assert estimate.cost_usd is not None and estimate.cost_usd > 0
    assert server.request_log() == []


def test_budget_cap_leaves_resumable_error_rows(server, tmp_path, figures) -> None:
    generator = generator_for(server, tmp_path, max_concurrency=1, budget_usd=0.05, max_tokens=1000)
    first = generator.generate(figures)
    stopped = first.filter(lambda r: r["status"] == "error")
    assert len(stopped) > 0 and set(stopped["error"][:]) == {"budget cap reached"}
    generator = generator_for(server, tmp_path, budget_usd=10.0, max_tokens=1000)
    second = generator.generate(figures)
    assert set(second["status"][:]) == {"ok"}
    assert len(server.request_log()) == len(figures)  # finished rows were not sent again


def test_clinician_demonstrations_file_is_used_as_it_is(
    server, tmp_path, figures, clinician_demonstrations_path
) -> None:
    generator = generator_for(server, tmp_path, demonstrations=clinician_demonstrations_path)
    demonstration_captions = {" ".join(d.caption.split()) for d in generator.demonstrations.demonstrations}
    assert len(generator.demonstrations) == 58
    body = generator.build_requests(figures)[0].build()
    shown = body["messages"][1:-1]
    assert [m["role"] for m in shown] == ["user", "assistant"] * (len(shown) // 2)
    modalities = {d.modality for d in generator.demonstrations.demonstrations}
    assert len(shown) == 2 * len(modalities)  # one per modality
    assert all(m["content"].startswith("User:") for m in shown if m["role"] == "assistant")
    shown_captions = {
        line[len("Caption: ") :]
        for m in shown
        if m["role"] == "user"
        for line in m["content"].splitlines()
        if line.startswith("Caption: ")
    }
    assert shown_captions <= demonstration_captions
    # the pick is deterministic per figure and varies between figures
    again = generator.build_requests(figures)[0].build()
    assert again["messages"] == body["messages"]
    picks = {json.dumps(r.build()["messages"][1:-1]) for r in generator.build_requests(figures)}
    assert len(picks) > 1
    candidates = generator.generate(figures.select(range(4)))
    assert set(candidates["status"][:]) == {"ok"}


def test_same_modality_demonstrations(server, tmp_path, figures, clinician_demonstrations_path) -> None:
    generator = generator_for(
        server,
        tmp_path,
        demonstrations=clinician_demonstrations_path,
        demonstration_selection="same_modality",
        n_demonstrations=2,
    )
    by_caption = {" ".join(d.caption.split()): d.modality for d in generator.demonstrations.demonstrations}
    ct_row = [i for i, m in enumerate(figures["modality"][:]) if m == "ct_scan"][0]
    body = generator.build_requests(figures)[ct_row].build()
    captions = [
        line[len("Caption: ") :]
        for m in body["messages"][1:-1]
        if m["role"] == "user"
        for line in m["content"].splitlines()
        if line.startswith("Caption: ")
    ]
    assert len(captions) == 2 and {by_caption[c] for c in captions} == {"ct_scan"}


def test_demonstration_images_are_attached_when_asked(server, tmp_path, figures) -> None:
    demonstrations = [
        {
            "id": f"demo{i}",
            "image": figures[i]["image"],
            "caption": f"Synthetic demonstration caption {i} (stand-in text).",
            "mentions": [],
            "modality": figures[i]["modality"],
            "messages": [
                {"role": "user", "content": "Synthetic question (stand-in text)?"},
                {"role": "assistant", "content": "Synthetic answer (stand-in text)."},
            ],
        }
        for i in range(3)
    ]
    generator = generator_for(
        server, tmp_path, demonstrations=demonstrations, attach_demonstration_images=True
    )
    body = generator.build_requests(figures)[5].build()
    parts = [p for m in body["messages"] if isinstance(m["content"], list) for p in m["content"]]
    assert sum(p["type"] == "image_url" for p in parts) == 4  # three demonstrations + the figure


@pytest.mark.slow
def test_a_fault_mix_with_the_defaults_loses_no_row_and_keeps_no_unusable_reply(tmp_path) -> None:
    # 30 % of attempts faulty: 429s, 500s, hangs, malformed and truncated replies
    faults = FaultConfig(
        rate_limit=0.15,
        server_error=0.05,
        timeout=0.02,
        malformed=0.05,
        truncated=0.05,
        hang_seconds=8.0,
        retry_after=0.02,
    )
    figures = make_figures(500, size=8)
    with StandInServer(faults=faults, seed=7) as server:
        # the client timeout is far above a normal reply's latency, so only injected hangs time out, also when
        # a busy machine delays replies (a reply that reached the client late would otherwise be sent again)
        generator = generator_for(server, tmp_path, max_concurrency=64, timeout=4.0)
        candidates = generator.generate(figures)
        log = server.request_log()
    assert len(candidates) == 500 and len(set(candidates["candidate_id"][:])) == 500
    assert set(candidates["status"][:]) == {"ok"}  # no row lost
    # no unusable reply kept as valid: every row holds the five whole exchanges of a well-formed stand-in reply
    assert all(len(messages) == 10 for messages in candidates["messages"][:])
    unusable_answers = [e for e in log if e["status"] == 200 and e["fault"] in ("malformed", "truncated")]
    assert len(unusable_answers) > 20
    assert generator.engine.last_summary.unusable_asked_again == len(unusable_answers)
    assert generator.engine.last_summary.unusable_kept == 0
    assert requests_sent_after_success(log) == []
    assert Counter(e["fault"] for e in log)["rate_limit"] > 50


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from tests.generation.helpers import make_figures
    from biomed_vital.generation import GPT4VGenerator

    base_url, cache_dir, out = sys.argv[1:4]
    generator = GPT4VGenerator("gpt-4o", base_url=base_url, api_key="sk-local-test", cache_dir=cache_dir,
                               max_concurrency=4, show_progress=False)
    generator.generate(make_figures(120, size=8)).save_to_disk(out)
    """
)


@pytest.mark.slow
def test_kill_9_and_resume_gives_the_uninterrupted_result(tmp_path) -> None:
    repo_root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    cache_dir = tmp_path / "cache"
    latency = LatencyModel.fixed(0.05)
    with StandInServer(latency=latency, seed=0) as server:
        command = [sys.executable, "-c", KILL_SCRIPT, server.base_url, str(cache_dir), str(tmp_path / "out1")]
        process = subprocess.Popen(command, env=env, cwd=repo_root)
        database = cache_dir / "responses.sqlite"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if database.exists():
                try:
                    with sqlite3.connect(database) as connection:
                        if connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0] >= 20:
                            break
                except sqlite3.OperationalError:
                    pass
            assert process.poll() is None, "the generator finished before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        stored_at_kill = set(_all_keys(database))
        assert 20 <= len(stored_at_kill) < 120
        sent_before = len(server.request_log())

        resumed = generator_for(server, tmp_path).generate(make_figures(120, size=8))
        log = server.request_log()
    resumed_keys = {e["request_key"] for e in log[sent_before:]}
    stored_server_keys = {e["request_key"] for e in log[:sent_before] if e["status"] == 200}
    # at most the requests in flight at the kill were sent again
    assert len(resumed_keys & stored_server_keys) <= 4
    assert len(log) - sent_before <= 120 - len(stored_at_kill) + 4

    with StandInServer(latency=latency, seed=0) as fresh_server:
        uninterrupted = generator_for(fresh_server, tmp_path / "reference").generate(
            make_figures(120, size=8)
        )
    assert _by_candidate(resumed) == _by_candidate(uninterrupted)
    assert set(resumed["status"][:]) == {"ok"}
    assert not (tmp_path / "out1").exists()  # the killed run never finished


def _all_keys(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT key FROM responses")]


def _by_candidate(dataset) -> dict[str, tuple]:
    return {
        row["candidate_id"]: (row["status"], json.dumps(row["messages"]))
        for row in dataset.select_columns(["candidate_id", "status", "messages"])
    }


def test_a_custom_system_prompt_is_used_as_written(server, tmp_path, figures) -> None:
    prompt = 'Write {min_rounds} or more exchanges as User:/Assistant: lines, e.g. {"style": "lines"}.'
    generator = generator_for(server, tmp_path, system_prompt=prompt, min_rounds=4)
    body = generator.build_requests(figures)[0].build()
    assert (
        body["messages"][0]["content"]
        == 'Write 4 or more exchanges as User:/Assistant: lines, e.g. {"style": "lines"}.'
    )
    default = generator_for(server, tmp_path, min_rounds=4).system_prompt
    assert "at least 4 exchanges" in default


def test_unusable_replies_are_asked_again_at_once_and_on_a_rerun_unless_kept(tmp_path) -> None:
    figures = make_figures(40, size=8)
    with StandInServer(faults=FaultConfig(malformed=0.3, truncated=0.1), seed=5) as server:
        first = generator_for(server, tmp_path, retry_unusable=0).generate(figures)
        unusable = [row["candidate_id"] for row in first if row["status"] == "error"]
        assert unusable and len(server.request_log()) == 40  # paid for and stored, as the last reply
        assert all(row["raw_response"] for row in first if row["status"] == "error")

        server.reset()
        kept = generator_for(server, tmp_path, retry_unusable=0, keep_unusable=True).generate(figures)
        assert server.request_log() == []  # taken from the cache as they are
        assert [row["candidate_id"] for row in kept if row["status"] == "error"] == unusable

        again = generator_for(server, tmp_path).generate(figures)  # the defaults: ask again for them
        log = server.request_log()
    asked = {e["request_key"] for e in log}
    assert len(asked) == len(unusable)  # only the rows whose stored reply was unusable
    answers = Counter(e["request_key"] for e in log if e["status"] == 200)
    assert max(answers.values()) <= 1 + GPT4VGenerator.config_class.retry_unusable
    still = [row["candidate_id"] for row in again if row["status"] == "error"]
    assert len(still) < len(unusable) / 4
    assert GPT4VGenerator("gpt-4o", api_key="sk-x").config.keep_unusable is False
