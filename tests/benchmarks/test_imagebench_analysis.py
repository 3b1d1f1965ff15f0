"""The image benchmark's pure functions: layer identities and diffs, BuildKit logs, targets."""

from __future__ import annotations

import copy

import pytest
from imagebench.analysis import (
    MB,
    Step,
    chain_ids,
    dependency_install,
    dependency_layer_ids,
    dependency_layers_changed,
    evaluate_targets,
    human_bytes,
    layer_diff,
    manifest_blobs,
    new_blob_bytes,
    parse_buildkit_log,
    pull_bytes,
    ratio,
    rotated,
    scrub,
    split_poetry_docker_build,
)

# Three layers of a real image and the chain IDs the engine stored them under
# (/var/lib/docker/image/overlay2/layerdb/sha256/<chain ID>).
REAL_DIFF_IDS = [
    "sha256:d9512a555ed30862d5bab696ab9dc496437dd07aea67b4a5ac7981661cc43539",
    "sha256:6721c2b2667ee4aff00c4a7ffc2377e6aa300f9fa4b70b77662d730910f9c296",
    "sha256:c668486ba8d2ce1778a591ea31c5b878d67b1b97dfdc0244aba6e62effa3daf5",
]
REAL_CHAIN_IDS = [
    "sha256:d9512a555ed30862d5bab696ab9dc496437dd07aea67b4a5ac7981661cc43539",
    "sha256:ea3c75aae4fc278d9c60bceb22b6c6e54dc483ebd31c2d2cb8d967790b38ce7e",
    "sha256:3287901e1fde05702c4a5ad68a34e989aea0f66e72ab91846d7c9409ce3f6d05",
]


def test_chain_ids_match_the_engine_layer_store() -> None:
    assert chain_ids(REAL_DIFF_IDS) == REAL_CHAIN_IDS


def test_chain_id_of_a_layer_depends_on_the_layers_below() -> None:
    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    assert chain_ids([a, b])[1] != chain_ids([c, b])[1]
    assert chain_ids([a, b])[1] == "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
    assert chain_ids([]) == []


def test_layer_diff_counts_only_layers_the_old_image_lacks() -> None:
    old = ["base", "venv", "app-1"]
    new = [("base", 100), ("venv", 5000), ("app-2", 7), ("meta", 0)]
    diff = layer_diff(old, new)
    assert (diff.changed, diff.total, diff.bytes) == (2, 4, 7)


def test_layer_diff_matches_by_digest_not_by_position() -> None:
    diff = layer_diff(["a", "b"], [("b", 10), ("a", 20)])
    assert (diff.changed, diff.bytes) == (0, 0)


def test_new_blob_bytes_and_pull_bytes() -> None:
    assert new_blob_bytes({"x": 1, "y": 2}, {"x": 1, "y": 2, "z": 30}) == 30
    previous = {"config": {"digest": "c1", "size": 9}, "layers": [{"digest": "l1", "size": 100}]}
    new = {"config": {"digest": "c2", "size": 11},
           "layers": [{"digest": "l1", "size": 100}, {"digest": "l2", "size": 5}]}
    assert manifest_blobs(new) == {"c2": 11, "l1": 100, "l2": 5}
    assert pull_bytes(previous, new) == 16


LOG = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#9 [deps 3/3] RUN --mount=type=cache,target=/root/.cache/pypoetry     poetry install --no-root --only main
#9 CACHED
#10 [wheel 3/3] RUN poetry build --format wheel --output /dist
#10 0.512 Building fastapi-service (1.4.3)
#10 DONE 2.3s
#12 [runtime 5/5] RUN --mount=type=bind,from=wheel,source=/dist,target=/mnt     python -m pip install /mnt/*.whl
#12 DONE 1.5s
#13 exporting to image
#13 DONE 0.1s
"""


def test_parse_buildkit_log_reads_named_steps() -> None:
    steps = parse_buildkit_log(LOG)
    assert [s.name.split("]")[0] + "]" for s in steps] == [
        "[internal]", "[deps 3/3]", "[wheel 3/3]", "[runtime 5/5]"]
    assert steps[1].cached and steps[1].seconds is None
    assert steps[2] == Step("[wheel 3/3] RUN poetry build --format wheel --output /dist", False, 2.3)


def test_dependency_install_finds_poetry_install_in_any_dockerfile() -> None:
    assert dependency_install(parse_buildkit_log(LOG)).cached  # type: ignore[union-attr]
    naive = "#9 [5/5] RUN poetry config virtualenvs.create false     && poetry install --without dev\n#9 DONE 41.0s\n"
    step = dependency_install(parse_buildkit_log(naive))
    assert step is not None and step.seconds == 41.0 and not step.cached
    assert dependency_install(parse_buildkit_log("#1 [1/2] RUN poetry build\n#1 DONE 1.0s\n")) is None


def test_dependency_install_of_ours_with_poetry_is_its_deps_stage() -> None:
    log = (
        "#7 [deps 3/4] RUN --mount=type=cache,target=/root/.cache/pypoetry     --mount=type=bind,source=.docker-deps/"
        "requirements,target=/mnt/requirements     --mount=type=bind,source=.docker-deps/layer-venv.py,target=/mnt/"
        "layer-venv.py     python -m venv --without-pip /app/.venv     && poetry install --no-root --only main     "
        "&& python /mnt/layer-venv.py /app/.venv /layer /mnt/requirements/*.txt\n#7 DONE 31.5s\n"
        "#8 [deps 4/4] RUN --mount=type=bind,source=.docker-deps,target=/tmp     mkdir /deps && python "
        "/tmp/runtime-packages.py /layer /mnt > /deps/runtime-packages\n#8 DONE 2.0s\n"
    )
    step = dependency_install(parse_buildkit_log(log))
    assert step is not None and step.seconds == 31.5 and step.name.startswith("[deps 3/4]")


def test_dependency_install_of_the_uv_installer_is_its_longest_install_stage() -> None:
    install = ("RUN --mount=type=cache,target=/root/.cache/uv     --mount=type=bind,source=.docker-deps/requirements/"
               "13.txt,target=/mnt/13.txt     cat /mnt/13.txt > /tmp/requirements.txt     && uv pip install --python "
               "/app/.venv/bin/python --require-hashes --no-deps -r /tmp/requirements.txt     && python "
               "/mnt/layer-venv.py /app/.venv /layer /mnt/13.txt")
    lookup = ("#8 [deps 1/1] RUN --mount=type=bind,source=.docker-deps,target=/tmp     mkdir /deps && python "
              "/tmp/runtime-packages.py /layers /mnt > /deps/runtime-packages\n#8 DONE 9.0s\n")
    wheel = ("#9 [wheel 2/5] RUN --mount=type=cache,target=/root/.cache/uv     python -m venv --without-pip /opt/build"
             "     && uv pip install --python /opt/build/bin/python 'poetry-core>=1.9.0'\n#9 DONE 8.0s\n")
    log = (
        f"#5 [deps-01-06 1/1] {install}\n#5 CACHED\n"
        f"#6 [deps-07-12 1/1] {install}\n#6 DONE 0.4s\n"
        f"#7 [deps-13-15 1/1] {install}\n#7 DONE 1.5s\n"
        + lookup + wheel
    )
    step = dependency_install(parse_buildkit_log(log))
    assert step is not None and step.seconds == 1.5 and step.name.startswith("[deps-13-15 1/1]")
    cached = log.replace("DONE 0.4s", "CACHED").replace("DONE 1.5s", "CACHED")
    assert dependency_install(parse_buildkit_log(cached)).cached  # type: ignore[union-attr]


# What `poetry docker build` prints (stdout and stderr in one stream), with the seconds
# since the start at which each line arrived.
POETRY_DOCKER_BUILD = [
    (1.21, "Wrote the dependency stub to .docker-deps/ (pyproject.toml, poetry.lock) for the group main.\n"),
    (1.30, "Running: /usr/bin/docker build -f /t/Dockerfile --build-arg VERSION=1.4.3 -t img:1.4.3 -t img:latest "
           "--network=host --progress=plain /t\n"),
    (1.42, "#1 [internal] load build definition from Dockerfile\n"),
    (3.90, "#14 naming to docker.io/library/img:latest done\n"),
    (4.05, "Built img:1.4.3 and img:latest.\n"),
]


def test_split_poetry_docker_build_times_docker_between_its_two_lines() -> None:
    split = split_poetry_docker_build(POETRY_DOCKER_BUILD, 4.2)
    assert split.docker_seconds == pytest.approx(4.05 - 1.30)
    assert split.tags == ["img:1.4.3", "img:latest"]
    exact = [*POETRY_DOCKER_BUILD[:-1], (4.0, "Built registry.test:5000/team/img:cold.\n")]
    assert split_poetry_docker_build(exact, 4.1).tags == ["registry.test:5000/team/img:cold"]


def test_split_poetry_docker_build_without_its_lines() -> None:
    # docker failed: no "Built" line, docker's part ends with the command
    failed = split_poetry_docker_build(POETRY_DOCKER_BUILD[:-1], 5.0)
    assert failed.docker_seconds == pytest.approx(5.0 - 1.30) and failed.tags == []
    # refused before docker started: no docker part at all
    refused = split_poetry_docker_build([(1.0, "No Dockerfile at /t/Dockerfile.\n")], 1.1)
    assert refused.docker_seconds is None and refused.tags == []
    # a "Built" line before "Running:" is not docker's end
    early = [(0.5, "Built nothing.\n"), *POETRY_DOCKER_BUILD]
    assert split_poetry_docker_build(early, 4.2).docker_seconds == pytest.approx(4.05 - 1.30)


def test_ratio_rotation_bytes_and_scrub() -> None:
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(None, 1.0) is None and ratio(1.0, 0) is None
    assert rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert human_bytes(950) == "950 B" and human_bytes(1_500_000) == "1.5 MB"
    assert human_bytes(250_000_000) == "250 MB"
    indexes = ["https://mirror.test/simple/", "mirror.test", ""]
    scrubbed = scrub("pip from https://mirror.test/simple/ and mirror.test", indexes)
    assert scrubbed == "pip from <index> and <index>"


def _build(seconds: float) -> dict:
    return {"seconds": seconds}


def _dev(changed: int = 0, total: int = 15) -> dict:
    return {"layers": {"changed": 1, "total": 22}, "bytes_added": 4000,
            "dependency_layers": {"changed": changed, "total": total}}


def _project(venv: float, main_today: float) -> dict:
    return {
        "builds": {
            "cold": {"handwritten": _build(100), "ours": _build(40), "poetry": _build(70)},
            "code": {"ours": _build(5.0), "poetry": _build(5.2)},
            "bump": {"handwritten": _build(30), "ours": _build(5.5), "poetry": _build(5.6)},
            "main": {"handwritten": _build(12), "ours": _build(4.0), "poetry": _build(9.0)},
        },
        "release": {"handwritten": {"bytes_added": 3000}, "ours": {"bytes_added": 6000},
                    "poetry": {"bytes_added": 6100}},
        "release_main": {"handwritten": {"bytes_added": main_today, "pull_bytes": main_today / 3},
                         "ours": {"bytes_added": 1 * MB, "pull_bytes": 0.3 * MB},
                         "poetry": {"bytes_added": 1.1 * MB, "pull_bytes": 0.4 * MB}},
        "dev_layers": {"handwritten": _dev(0, 1), "ours": _dev(), "poetry": _dev()},
        "sizes": {"ours": {"image": 191 * MB + venv + 0.5 * MB, "base": 191 * MB, "venv": venv},
                  "poetry": {"image": 191 * MB + venv + 0.5 * MB, "base": 191 * MB, "venv": venv}},
    }


RESULTS = {"projects": {"fastapi": _project(18 * MB, 18 * MB), "science": _project(308 * MB, 228 * MB)},
           "startup": {"runs": 15, "baseline_ms": 700.0, "plugin_ms": 790.0}}
RESULTS["projects"]["science"]["release_heavy"] = {
    "handwritten": {"bytes_added": 228 * MB, "pull_bytes": 66 * MB},
    "ours": {"bytes_added": 120 * MB, "pull_bytes": 40 * MB},
    "poetry": {"bytes_added": 121 * MB, "pull_bytes": 41 * MB},
}


def test_every_target_met() -> None:
    targets = evaluate_targets(RESULTS)
    judged = [t for t in targets if not t.measured_only]
    # per project: 7 on Dockerfile 3, 2 restated for 4; science: 2 heavy-change; the start-up
    assert len(judged) == 2 * 9 + 2 + 1
    assert all(t.met for t in judged), [t for t in judged if not t.met]
    measured = [t for t in targets if t.measured_only]
    assert [t.met for t in measured] == [None, None]  # the deploy pulls of the one-package change
    assert measured[0].measured == "ours 300 kB; 4: 400 kB; 2: 6.0 MB (compressed)"


@pytest.mark.parametrize(
    ("path", "value", "missed"),
    [
        (("science", "release_main", "ours"), {"bytes_added": 5 * MB}, "science: bytes a one-package"),
        (("fastapi", "builds", "main", "ours"), _build(6.1), "fastapi: our rebuild after that change <= 0.5"),
        (("science", "builds", "cold", "ours"), _build(50.1), "science: our cold build <= 0.5"),
        (("science", "builds", "bump", "ours"), _build(6.1), "science: our version-bump rebuild <= 1.2 x"),
        (("fastapi", "release", "ours"), {"bytes_added": MB}, "fastapi: bytes a version bump adds"),
        (("fastapi", "dev_layers", "ours"), _dev(1), "fastapi: a dev-only dependency bump keeps every "
                                                      "dependency layer of our image"),
        (("fastapi", "sizes", "ours"), {"image": 211.5 * MB, "base": 191 * MB, "venv": 18 * MB},
         "fastapi: our runtime image"),
        (("science", "release_main", "poetry"), {"bytes_added": 6 * MB}, "science: Poetry in layers (4): a one"),
        (("science", "dev_layers", "poetry"), _dev(15), "science: a dev-only dependency bump keeps every "
                                                         "dependency layer of Poetry in layers (4)"),
        (("science", "release_heavy", "ours"), {"bytes_added": 229 * MB, "pull_bytes": 40 * MB},
         "science: a heavy-package change adds no more"),
    ],
)
def test_each_target_can_be_missed(path: tuple[str, ...], value: dict, missed: str) -> None:
    results = copy.deepcopy(RESULTS)
    node = results["projects"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    failed = [t.name for t in evaluate_targets(results) if t.met is False]
    assert len(failed) == 1 and failed[0].startswith(missed), failed


def test_startup_target() -> None:
    results = copy.deepcopy(RESULTS)
    (target,) = [t for t in evaluate_targets(results) if "build-context" in t.name]
    assert target.met is True and target.measured == "90 ms (790 ms against 700 ms, medians of 15 runs)"
    results["startup"]["plugin_ms"] = 851.0
    (target,) = [t for t in evaluate_targets(results) if "build-context" in t.name]
    assert target.met is False
    results.pop("startup")
    (target,) = [t for t in evaluate_targets(results) if "build-context" in t.name]
    assert target.met is None and target.measured == "not measured"


def test_dev_target_not_measured_without_dependency_layers() -> None:
    results = copy.deepcopy(RESULTS)
    results["projects"]["fastapi"]["dev_layers"]["ours"] = _dev(0, 0)  # no layer matched: not a pass
    (target,) = [t for t in evaluate_targets(results) if t.name.startswith("fastapi: a dev-only")
                 and "our image" in t.name]
    assert target.met is None
    assert target.measured == "0 of 0 dependency layers changed (1 of 22 layers in all, 4.0 kB)"


def test_targets_are_judged_on_the_job_not_on_docker_build_alone() -> None:
    results = copy.deepcopy(RESULTS)
    builds = results["projects"]["science"]["builds"]
    # docker build alone: ours 3.0 s against Dockerfile 2's 9.0 s (0.33x); with Poetry's part, 6.5 s
    # against 10.0 s (0.65x): the job's ratio decides
    builds["main"]["handwritten"] = {"seconds": 10.0, "docker_build_seconds": 9.0, "poetry_seconds": 1.0}
    builds["main"]["ours"] = {"seconds": 6.5, "docker_build_seconds": 3.0, "poetry_seconds": 3.5}
    (target,) = [t for t in evaluate_targets(results) if t.name.startswith("science: our rebuild after that")]
    assert target.met is False
    assert target.measured == "ours / Dockerfile 2 = 0.65x (`docker build` alone: 0.33x)"
    # and the other way round: docker build alone misses, the job meets it
    builds["main"]["ours"] = {"seconds": 4.9, "docker_build_seconds": 4.8, "poetry_seconds": 0.1}
    builds["main"]["handwritten"] = {"seconds": 10.0, "docker_build_seconds": 8.0, "poetry_seconds": 2.0}
    (target,) = [t for t in evaluate_targets(results) if t.name.startswith("science: our rebuild after that")]
    assert target.met is True and target.measured.endswith("(`docker build` alone: 0.60x)")


def test_targets_of_a_project_not_run_are_not_measured() -> None:
    results = {"projects": {"fastapi": copy.deepcopy(RESULTS["projects"]["fastapi"])}}
    targets = evaluate_targets(results)
    assert not [t for t in targets if "heavy" in t.name]
    assert all(t.met for t in targets if not t.measured_only and "build-context" not in t.name)
    results["projects"]["fastapi"]["builds"].pop("cold")
    assert [t.met for t in evaluate_targets(results) if "cold" in t.name] == [None]


def test_dependency_layer_ids_match_history_to_layers() -> None:
    config = {
        "rootfs": {"diff_ids": ["sha256:base", "sha256:l01", "sha256:l02", "sha256:app"]},
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:… in / "},
            {"created_by": "ENV PATH=/app/.venv/bin:$PATH", "empty_layer": True},
            {"created_by": "COPY /layer/01/ / # buildkit"},
            {"created_by": "COPY /layer/02/ / # buildkit"},
            {"created_by": "LABEL a=b", "empty_layer": True},
            {"created_by": "COPY /staging/app/.venv/ /app/.venv/ # buildkit"},
        ],
    }
    assert dependency_layer_ids(config, "COPY /layer/") == ["sha256:l01", "sha256:l02"]
    assert dependency_layers_changed(["sha256:base", "sha256:l01"], config, "COPY /layer/") == {
        "changed": 1, "total": 2}
    # history that does not line up with the layers: nothing is claimed
    broken = {**config, "history": config["history"][1:]}
    assert dependency_layer_ids(broken, "COPY /layer/") == []
