"""The `rapidaid` command: dev, worker, api, topics, simulate, bench and more."""

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime

import orjson


def _log_to_stderr() -> None:
    """Warnings and errors of RapidAid's own modules to stderr, formatted as the worker's, until Faust sets up its logging."""
    # The modules that define a mode.Service get a NullHandler from mode, which keeps Python's last-resort handler silent.
    logging.basicConfig(format="[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s", level=logging.WARNING)


def _worker(args: argparse.Namespace) -> None:
    from streams.plumbing.worker import run_worker

    _log_to_stderr()
    run_worker()


def _api(args: argparse.Namespace) -> None:
    import uvicorn

    from api.config import ApiSettings
    from api.main import create_app

    settings = ApiSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", access_log=False)


def _topics(args: argparse.Namespace) -> None:
    from streams.config import WorkerSettings
    from streams.plumbing.rebuild import prepare_topics
    from streams.plumbing.topics import topic_names

    settings = WorkerSettings()
    _log_to_stderr()
    asyncio.run(prepare_topics(settings))
    print(f"{len(topic_names(settings))} topics ready with {settings.partitions} partitions on {settings.kafka}")


def _simulate(args: argparse.Namespace) -> None:
    from api.config import ApiSettings
    from schemas.departments import load_departments
    from schemas.register import load_register
    from streams.devtools.simulate import act_as_officers, send_traffic

    settings = ApiSettings()
    tokens = orjson.loads(settings.tokens_file.read_bytes())
    departments = load_departments(settings.departments)
    register = load_register(settings.county_register)
    traffic = send_traffic(
        args.url, settings.kafka, tokens, departments, register, args.rate, args.count, args.seed, args.burst_every, args.unidentified_calls
    )

    async def run() -> None:
        if args.officers:
            await asyncio.gather(traffic, act_as_officers(args.url, tokens, share=0.1, interval_s=8, seed=args.seed))
        else:
            print(f"sent {await traffic}")

    asyncio.run(run())


def _broker_proxy(args: argparse.Namespace) -> None:
    from streams.devtools.broker_proxy import serve
    from streams.devtools.dev import host_port

    asyncio.run(serve(*host_port(args.listen, 9092), *host_port(args.upstream, 9092)))


def _rebuild(args: argparse.Namespace) -> None:
    from streams.config import WorkerSettings
    from streams.plumbing.rebuild import rebuild_read_model

    settings = WorkerSettings()
    target = args.redis or settings.redis
    replayed = asyncio.run(rebuild_read_model(settings, target))
    print(f"read model at {target} rebuilt from {replayed} records of aid.case-events and aid.deadletter")


def _bench(args: argparse.Namespace) -> None:
    from streams.devtools.bench.run import BenchSettings, report, run_bench

    result = run_bench(BenchSettings.for_run(args.quick, args.workers))
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        print(report(result))
        print(orjson.dumps(result["settings"]).decode())


def _tokens(args: argparse.Namespace) -> None:
    from api.config import ApiSettings
    from api.tokens import TokenError, add_command, list_command, revoke_command

    path = ApiSettings().people_file
    now = datetime.now(UTC)
    try:
        if args.action == "add":
            print(add_command(path, args.role, args.name, now))
        elif args.action == "list":
            print(list_command(path))
        else:
            print(revoke_command(path, args.key, now))
    except TokenError as error:
        sys.exit(str(error))


def _dev(args: argparse.Namespace) -> None:
    from streams.devtools.dev import run_dev

    run_dev(demo=args.demo, broker=args.broker)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the chosen piece."""
    parser = argparse.ArgumentParser(
        prog="rapidaid",
        description="RapidAid: rapid-response emergency aid on Kafka and Faust. Settings come from RAPIDAID_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run broker, Redis, worker and API on this machine (no root, no Docker)")
    dev.add_argument("--demo", action="store_true", help="feed synthetic hotline calls and use the minute-scale demo policy")
    dev.add_argument(
        "--broker",
        choices=("tansu", "kafka"),
        help="tansu: in memory (default); kafka: Apache Kafka, everything kept on disk (RAPIDAID_BROKER)",
    )
    dev.set_defaults(run=_dev)
    commands.add_parser("worker", help="run the Faust stream worker").set_defaults(run=_worker)
    commands.add_parser("api", help="run the HTTP API and board").set_defaults(run=_api)
    commands.add_parser("topics", help="create the topics with the configured partition count").set_defaults(run=_topics)
    proxy = commands.add_parser("broker-proxy", help="relay Kafka traffic to Tansu, fixing its ApiVersions reply for librdkafka < 2.1")
    proxy.add_argument("--listen", required=True, help="host:port to accept clients on")
    proxy.add_argument("--upstream", required=True, help="host:port of the Tansu broker")
    proxy.set_defaults(run=_broker_proxy)
    rebuild = commands.add_parser(
        "rebuild-read-model", help="clear the Redis read model and replay it from the Kafka log (stop the worker, or use --redis)"
    )
    rebuild.add_argument("--redis", help="Redis URL to rebuild into (default RAPIDAID_REDIS)")
    rebuild.set_defaults(run=_rebuild)
    simulate = commands.add_parser("simulate", help="send realistic synthetic traffic from all three sources")
    simulate.add_argument("--url", default="http://127.0.0.1:8000")
    simulate.add_argument("--rate", type=float, default=1.0, help="events per second")
    simulate.add_argument("--count", type=int, default=None, help="stop after this many events (default: run until stopped)")
    simulate.add_argument("--burst-every", type=int, default=0, help="a disaster burst in one town every N events (0: none)")
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument(
        "--unidentified-calls", type=float, default=0.0, help="share of calls about someone whose ID number is unknown (0: none)"
    )
    simulate.add_argument("--officers", action="store_true", help="also move some open cases along as duty officers would")
    simulate.set_defaults(run=_simulate)
    tokens = commands.add_parser(
        "tokens", help="tokens of named people in $RAPIDAID_DATA_DIR/tokens.json (only digests kept); a running API picks changes up"
    )
    token_actions = tokens.add_subparsers(dest="action", required=True)
    add = token_actions.add_parser("add", help="give a person a token; it is printed once, on the last line")
    add.add_argument("--role", required=True, help="operator, hospital, admin, metrics, department:<name>, officer:<tier>:<area code>")
    add.add_argument("--name", required=True, help="the person's name, as the audit trail will show it")
    token_actions.add_parser("list", help="everyone with a token: name, role, created, digest prefix, revoked")
    revoke = token_actions.add_parser("revoke", help="revoke a token by its holder's name or a digest prefix (at least 6 characters)")
    revoke.add_argument("key", help="a name or a digest prefix from `rapidaid tokens list`")
    tokens.set_defaults(run=_tokens)
    bench = commands.add_parser("bench", help="measure the pipeline against the broker's and Faust's own speed (own embedded stack)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes: a run of a few minutes")
    bench.add_argument("--json", action="store_true", help="print the result as JSON only")
    bench.add_argument("--workers", type=int, default=1, help="workers in the pipeline throughput run")
    bench.set_defaults(run=_bench)
    args = parser.parse_args(argv)
    args.run(args)
