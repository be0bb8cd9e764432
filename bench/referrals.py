"""Benchmark: customer referrals, in one run.

    PYTHONPATH=. python bench/referrals.py [--friends 10000] [--duration 5] [--rounds 2] [--connections 32]
        [--database-url postgresql://postgres@127.0.0.1:5432/pl_bench_referrals] [--baseline-ref REF] [--drain]

1. The widget script's gzipped size (target ≤ 6 KB).
2. The widget's data endpoint (GET /api/v1/referral-widget, token checked, advocate, referrals and rewards
   read) under `partnerloop serve` on a fresh SQLite file, against a raw-ASGI baseline answering a fixed
   JSON body of the same size, both under uvicorn with one worker, measured with wrk alternately for
   --rounds rounds; prints requests per second and the ratio to the baseline of the same round.
3. Reward issuing throughput: --friends referred friends each make a first sale (through
   conversion/service, in batches), which makes one referrer credit each, in a seed database (SQLite in a
   temporary folder, or --database-url: PostgreSQL, dropped first). Then, --rounds times, a copy of the seed
   (a file copy; CREATE DATABASE … TEMPLATE) is issued in a process of its own against a fresh loopback
   Stripe (the tests' recording server, in its own process, keeping connections alive as Stripe does), as
   `partnerloop worker` would (a job issues up to 200 due rewards, calling Stripe from 8 threads); with
   --baseline-ref, the code of that git revision issues a copy too, alternately: the ratio is of one run.
   Prints rewards per second (target ≥ 200/s on SQLite) and checks that every reward was issued once,
   with one Stripe balance transaction each. The clock stops at the last reward issued; the emails' and
   events' jobs then wait (--drain runs them too).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import extract_revision, free_port, recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "partnerloop" / "static" / "referral-widget.js"
ARGS: argparse.Namespace
BASELINE_BODY = b""  # set by the baseline process from BENCH_BODY_BYTES


async def raw_asgi_json(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline: a fixed JSON answer with CORS headers, no routing, no state, no I/O."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b'{"x":"' + b"y" * int(os.environ.get("BENCH_BODY_BYTES", "600")) + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"access-control-allow-origin", b"https://acme.test"), (b"vary", b"Origin")]  # fmt: skip
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def wait_for(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def run_wrk(url: str, seconds: int, connections: int) -> float:
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", "Origin: https://acme.test", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(done.stdout)


def widget_endpoint(args: argparse.Namespace, workdir: Path) -> None:
    import httpx

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{workdir / 'widget.db'}"}
    port = free_port()
    env["BASE_URL"] = f"http://127.0.0.1:{port}"
    created = subprocess.run(
        [sys.executable, "-m", "partnerloop.cli", "program", "create", "--name", "Bench", "--domain", "acme.test",
         "--kind", "referral", "--json"], env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    program = json.loads(created.stdout)
    server = subprocess.Popen(
        [sys.executable, "-m", "partnerloop.cli", "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz")
    headers = {"Authorization": f"Bearer {program['api_key']}"}
    rewards = {"trigger": "sale", "referrer": {"type": "credit", "amount": 2000}, "friend": {"type": "none"}}
    secret = httpx.patch(f"{base}/api/v1/program", headers=headers, json={"referral_rewards": rewards}).json()[
        "widget_secret"
    ]
    advocate = httpx.post(f"{base}/api/v1/advocates", headers=headers,
                          json={"customer_external_id": "cus_ada", "email": "ada@example.com", "name": "Ada"}).json()  # fmt: skip
    for number in range(5):
        friend = f"cus_f{number}"
        httpx.post(f"{base}/api/v1/track/lead", headers=headers,
                   json={"referral_code": advocate["referral_code"], "customer_external_id": friend})  # fmt: skip
        httpx.post(f"{base}/api/v1/track/sale", headers=headers,
                   json={"customer_external_id": friend, "amount": 4900, "currency": "usd", "invoice_id": f"in_{number}"})  # fmt: skip
    import hashlib
    import hmac

    token = hmac.new(secret.encode(), b"cus_ada", hashlib.sha256).hexdigest()
    url = f"{base}/api/v1/referral-widget?key={program['publishable_key']}&customer=cus_ada&token={token}"
    answer = httpx.get(url, headers={"Origin": "https://acme.test"})
    assert answer.status_code == 200 and len(answer.json()["rewards"]) == 5, answer.text

    base_port = free_port()
    baseline = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "referrals:raw_asgi_json", "--app-dir", str(Path(__file__).parent),
         "--port", str(base_port), "--no-access-log", "--log-level", "warning"],
        env={**os.environ, "BENCH_BODY_BYTES": str(len(answer.content))}, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    baseline_url = f"http://127.0.0.1:{base_port}/"
    wait_for(baseline_url)
    try:
        run_wrk(url, 2, args.connections)  # warm-up
        run_wrk(baseline_url, 2, args.connections)
        for round_number in range(1, args.rounds + 1):
            ours = run_wrk(url, args.duration, args.connections)
            raw = run_wrk(baseline_url, args.duration, args.connections)
            print(
                f"  round {round_number}: widget data {ours:8.0f} req/s   raw ASGI {raw:8.0f} req/s   ratio {ours / raw:.3f}"
            )
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(30)


def issuing(args: argparse.Namespace, workdir: Path) -> None:
    """Track the friends' sales once into a seed database, then issue its rewards from a copy of it, with this
    checkout and (--baseline-ref) the baseline revision alternately, each against a fresh loopback Stripe."""
    os.environ.setdefault("ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())  # one key, any copy
    seed_url = args.database_url or f"sqlite:///{workdir / 'seed.db'}"
    if seed_url.startswith("postgres"):
        recreate_postgres(seed_url)
    _child(["--seed", seed_url], code=None)
    variants: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.baseline_ref:
        variants.append((f"@{args.baseline_ref[:12]}", extract_revision(args.baseline_ref, workdir)))
    rates: dict[str, list[float]] = {name: [] for name, _code in variants}
    for round_number in range(1, args.rounds + 1):
        for name, code in variants:
            url = _copy_of(seed_url, workdir, f"issue_{round_number}_{len(rates[name])}_{'base' if code else 'this'}")
            stripe_process = subprocess.Popen(
                [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
                 "from tests.integrations.stripe_kit import stripe_api_server\n"
                 "with stripe_api_server(keep_alive=True) as server:\n print(server.url, flush=True); time.sleep(10**6)",
                 str(ROOT)], stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert stripe_process.stdout is not None
            stripe_url = stripe_process.stdout.readline().strip()
            try:
                out = _child(["--issue", url, "--stripe-url", stripe_url], code=code)
            finally:
                stripe_process.terminate()
                stripe_process.wait(10)
                _drop_copy(url)
            rate = float(out.rsplit("RATE ", 1)[1].split()[0])
            rates[name].append(rate)
            print(f"  round {round_number}, {name}: {rate:.0f} rewards/s (load average {os.getloadavg()[0]:.2f})")
    this = statistics.median(rates["this checkout"])
    summary = f"  this checkout {this:.0f} rewards/s (median of {args.rounds}; target ≥ 200/s)"
    if args.baseline_ref:
        base = statistics.median(rates[variants[1][0]])
        summary += f", {variants[1][0]} {base:.0f} rewards/s: ratio {this / base:.2f}"
    print(summary)


def _copy_of(seed_url: str, workdir: Path, name: str) -> str:
    """A fresh database holding what the seed holds (SQLite: the file copied; PostgreSQL: CREATE DATABASE … TEMPLATE)."""
    if seed_url.startswith("postgres"):
        import psycopg

        admin_url, _, seed = seed_url.rpartition("/")
        target = f"{seed}_{name}"
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{target}" TEMPLATE "{seed}"')
        return f"{admin_url}/{target}"
    source = Path(seed_url.removeprefix("sqlite:///"))
    target_path = workdir / f"{name}.db"
    shutil.copyfile(source, target_path)
    return f"sqlite:///{target_path}"


def _drop_copy(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        admin_url, _, name = url.rpartition("/")
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def _child(arguments: list[str], code: Path | None) -> str:
    """Run this script's seeding or issuing part in a process of its own, with `code` (an extracted revision)
    or this checkout as `partnerloop`; echoes and returns its output."""
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, "--friends", str(ARGS.friends), *arguments, *(["--drain"] if ARGS.drain else [])],
        env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if not line.startswith("RATE "):
            print(line)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return done.stdout


def _settings(url: str, stripe_url: str | None) -> Any:
    from partnerloop.config import Settings
    from partnerloop.kit.sealing import configure_sealing
    from partnerloop.referral.tasks import configure_referrals

    settings = Settings(database_url=url, environment="development", stripe_api_base=stripe_url)
    configure_referrals(settings)
    configure_sealing(settings)  # the Stripe key is sealed and unsealed with this database's key
    return settings


def _seed(args: argparse.Namespace, url: str) -> None:
    """The program, its advocates and --friends friends' lead + sale (one pending credit each)."""
    from partnerloop import migrate
    from partnerloop.conversion import service as track_service
    from partnerloop.conversion.schemas import LeadIn, SaleIn
    from partnerloop.db import get_engine, transaction
    from partnerloop.kit.time import utc_now
    from partnerloop.models import Program
    from partnerloop.program.referral_settings import ReferralRewards
    from partnerloop.program.schemas import ProgramPatch
    from partnerloop.program.service import create_program, update_program
    from partnerloop.referral import service
    from partnerloop.referral.schemas import AdvocateIn

    engine = get_engine(_settings(url, None))
    migrate.upgrade(engine)
    with transaction(engine) as session:
        program = create_program(session, name="Bench", domains=["acme.test"], owner_email="bench@example.com",
                                 owner_password=None, kind="referral").program  # fmt: skip
        rewards = ReferralRewards.model_validate(
            {"trigger": "sale", "referrer": {"type": "credit", "amount": 2000}, "friend": {"type": "none"}}
        )
        update_program(session, program, ProgramPatch(referral_rewards=rewards, stripe_secret_key="sk_test_bench"))
        advocates = [
            service.create_advocate(session, program, AdvocateIn(
                customer_external_id=f"cus_a{number}", email=f"a{number}@example.com", stripe_customer_id=f"cus_S{number}",
            ))[0]
            for number in range(max(1, args.friends // 10))
        ]  # fmt: skip
        codes = [advocate.referral_code for advocate in advocates]
        program_id = program.id
    started = time.perf_counter()
    for batch in range(0, args.friends, 500):
        with transaction(engine) as session:
            program = session.get_one(Program, program_id)
            now = utc_now()
            for number in range(batch, min(batch + 500, args.friends)):
                friend = f"cus_f{number}"
                track_service.track_lead(session, program, LeadIn(
                    referral_code=codes[number % len(codes)], customer_external_id=friend), now)  # fmt: skip
                track_service.track_sale(session, program, SaleIn(
                    customer_external_id=friend, amount=4900, currency="usd", invoice_id=f"in_{number}"), now)  # fmt: skip
    tracked = time.perf_counter() - started
    print(
        f"  {args.friends} friends' lead + sale tracked in {tracked:.1f} s ({2 * args.friends / tracked:.0f} events/s)"
    )
    time.sleep(service.BUCKET_SECONDS + 0.2)  # the issuing jobs run once their rewards are due
    engine.dispose()


def _issue(args: argparse.Namespace, url: str, stripe_url: str) -> None:
    """Run the due jobs as `partnerloop worker` would until none is left; print when the last reward was
    issued (RATE: rewards per second) and check each was issued once, with one Stripe call."""
    from sqlalchemy import func, select

    from partnerloop.db import get_engine, transaction
    from partnerloop.jobs import runner
    from partnerloop.models import Reward

    engine = get_engine(_settings(url, stripe_url))
    import partnerloop.job_registry  # noqa: F401  (registers the handlers)

    worker = runner.worker_identity()
    ran = 0
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.perf_counter()
    issued_after: float | None = None
    while runner.run_next_job(engine, worker):
        ran += 1
        if issued_after is None:
            with transaction(engine, writes=False) as session:
                pending = session.execute(select(func.count()).where(Reward.status == "pending")).scalar_one()
            if pending == 0:
                issued_after = time.perf_counter() - started
                if not args.drain:
                    break  # the rewards' emails and events wait for the worker: not what is measured
    elapsed = time.perf_counter() - started
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    issued_after = issued_after or elapsed
    with transaction(engine, writes=False) as session:
        statuses = dict(session.execute(select(Reward.status, func.count()).group_by(Reward.status)).all())
        refs = set(session.execute(select(Reward.external_ref)).scalars())
    assert statuses == {"issued": args.friends}, statuses
    assert len(refs) == args.friends and all(str(ref).startswith("cbtxn_") for ref in refs)
    drained = f"all {ran} jobs (with one email each) done after {elapsed:.2f} s" if args.drain else f"{ran} jobs run"
    print(f"    all {args.friends} rewards issued after {issued_after:.2f} s; {drained}; "
          f"{len(refs)} distinct Stripe balance transactions (one per reward)")  # fmt: skip
    print(f"RATE {args.friends / issued_after:.3f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--friends", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-endpoint", action="store_true")
    parser.add_argument("--database-url", help="the issuing part's database (a PostgreSQL one is dropped first; "
                        "its name must say bench); default: a SQLite file in a temporary folder")  # fmt: skip
    parser.add_argument("--baseline-ref", help="also issue with the code of this git revision, alternately")
    parser.add_argument(
        "--drain", action="store_true", help="after the last reward, run the emails' and events' jobs too"
    )
    parser.add_argument("--seed", help=argparse.SUPPRESS)  # the child processes' parts
    parser.add_argument("--issue", help=argparse.SUPPRESS)
    parser.add_argument("--stripe-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global ARGS
    ARGS = args
    if args.seed:
        return _seed(args, args.seed)
    if args.issue:
        return _issue(args, args.issue, args.stripe_url)
    raw = WIDGET.read_bytes()
    print(f"widget script: {len(raw)} bytes, {len(gzip.compress(raw, 9))} bytes gzipped (target ≤ 6144)")
    with tempfile.TemporaryDirectory(prefix="bench-referrals-") as tmp:
        workdir = Path(tmp)
        if not args.skip_endpoint:
            print("widget data endpoint (wrk -t2, Origin: https://acme.test):")
            widget_endpoint(args, workdir)
        print(f"reward issuing through the loopback Stripe ({args.friends} friends, batches of 200, Stripe called "
              f"from 8 threads, {args.database_url or 'SQLite'}):")  # fmt: skip
        issuing(args, workdir)


if __name__ == "__main__":
    main()
