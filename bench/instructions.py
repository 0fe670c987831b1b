"""CPU instructions a first view costs, counted by valgrind: a measure the machine's noise does not move.

req/s on a shared 2-core machine varies from one round to the next; the instructions a request executes do
not. For each page of `bench/run.py` (first views: no page cache) and for its startproject page, a process of
its own under `valgrind --tool=callgrind` sets up Django, makes a few requests to warm up, then makes
--requests more, in process through the WSGI handler, with the cookies a browser holds. Only those are
counted: they run inside a call of libc's qsort(), whose comparison function is the measuring loop, and
callgrind collects inside qsort alone (--toggle-collect), so start-up and warm-up are left out. PostgreSQL's
and Redis's work is not counted (other processes): the portal's share of a page, compared with Django's.

    .venv/bin/python bench/instructions.py                        # every page, 10 requests each (~7 minutes)
    .venv/bin/python bench/instructions.py --pages home,ticket --requests 20

Needs valgrind and the target scale in portal_bench (loaded by `make bench` the first time, or here).
"""

import argparse
import ctypes
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import comparisons  # noqa: E402
import run  # noqa: E402

WARM_UP = 5
STARTPROJECT = "startproject"


def _wsgi_get(application, path: str, cookie: str) -> tuple[str, bytes, list]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
    }
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=headers)

    body = b"".join(application(environ, start_response))
    return answer["status"], body, answer["headers"]


def _counted(requests: int, make_request) -> None:
    """`make_request` called `requests` times inside libc's qsort(): what callgrind is told to count."""
    libc = ctypes.CDLL("libc.so.6")
    compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

    def measuring_loop(_a, _b) -> int:
        for _ in range(requests):
            make_request()
        return 0

    pair = (ctypes.c_int * 2)(1, 2)
    libc.qsort(pair, 2, ctypes.sizeof(ctypes.c_int), compare(measuring_loop))


def child(target: dict) -> None:
    """In the process valgrind runs: one page, warmed up, then measured."""
    if target["page"] == STARTPROJECT:
        sys.path.insert(0, target["directory"])
        os.chdir(target["directory"])
        os.environ["DJANGO_SETTINGS_MODULE"] = target["settings"]
    else:
        os.environ.update(
            run.portal_environment(80, target["database_url"], page_cache=False, redis_db=target["redis"])
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal_project.settings"
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    application = get_wsgi_application()
    cookie = f"sessionid={target['session']}" if target["session"] else ""
    status, body, headers = _wsgi_get(application, target["path"], cookie)
    for name, value in headers:  # the CSRF cookie a browser keeps after its first visit
        if name == "Set-Cookie" and value.startswith("csrftoken="):
            cookie = f"{cookie}; {value.split(';', 1)[0]}"
    if not status.startswith("200") or target["must_show"].encode() not in body:
        raise SystemExit(f"{target['path']} answered {status} without {target['must_show']!r}")
    for _ in range(WARM_UP):
        _wsgi_get(application, target["path"], cookie)
    _counted(target["requests"], lambda: _wsgi_get(application, target["path"], cookie))


def instructions(target: dict) -> float:
    """Millions of instructions a request, from a valgrind run of `child(target)`."""
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=*qsort*",
            f"--callgrind-out-file={directory}/callgrind.out",
            sys.executable,
            __file__,
            "--child",
            json.dumps(target),
        ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise SystemExit(f"valgrind failed on {target['page']}:\n{done.stderr[-2000:]}")
    return int(collected.group(1)) / target["requests"] / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", help="Comma-separated page keys of bench/run.py (default: every signed-in page).")
    parser.add_argument("--requests", type=int, default=10, help="Requests counted a page (10).")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind).")

    database_url = os.environ.get("DATABASE_URL", run.DEFAULT_DATABASE_URL)
    data = run.prepare_portal(database_url, 1.0)
    run.flush_redis(run.FIRST_REDIS_DB)
    pages = [page for page in run.portal_pages(data) if page.signed_in]
    if args.pages:
        wanted = args.pages.split(",")
        pages = [page for page in pages if page.key in wanted]
    with tempfile.TemporaryDirectory() as temporary:
        site = comparisons.prepare_startproject(Path(temporary) / "startproject", f"{database_url}_startproject")
        targets = [
            {
                "page": STARTPROJECT,
                "path": site.path,
                "session": site.session,
                "must_show": site.must_show,
                "directory": str(site.directory),
                "settings": f"{site.wsgi.rsplit('.', 1)[0]}.settings",
            }
        ]
        targets += [
            {
                "page": page.key,
                "label": page.label,
                "path": page.path,
                "session": data["session"],
                "must_show": page.must_show,
                "database_url": database_url,
                "redis": run.FIRST_REDIS_DB,
            }
            for page in pages
        ]
        for target in targets:
            target["requests"] = args.requests
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            counts = list(pool.map(instructions, targets))
    reference = counts[0]
    print(f"M instructions a first view, in process ({args.requests} requests a page, after {WARM_UP} unmeasured):\n")
    print("| page | M instructions | × the startproject page |\n| --- | --- | --- |")
    for target, count in zip(targets, counts, strict=True):
        print(
            f"| {target.get('label', 'a startproject page, a session and a 20-row template')} | {count:.1f} "
            f"| {count / reference:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
