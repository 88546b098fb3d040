"""Fills in ci/nginx/replicas.conf.in (standard library only): the nginx in
front of MCP server replicas that the scale-out scripts start. The Rust
tests fill in the same template (tests/support/services.rs)."""

import os

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "replicas.conf.in")


def config(directory: str, port: int, replicas: "list[tuple[str, int]]") -> str:
    """The configuration for nginx on 127.0.0.1:`port`, its files under
    `directory`, in front of `replicas` (replica id, port on 127.0.0.1)."""
    upstreams = "    upstream all {\n" + "".join(f"        server 127.0.0.1:{p};\n" for _, p in replicas)
    upstreams += "        keepalive 64;\n    }\n"
    by_session = by_task = ""
    for name, p in replicas:
        upstreams += f"    upstream {name} {{\n        server 127.0.0.1:{p};\n        keepalive 64;\n    }}\n"
        by_session += f'        "~^{name}\\." {name};\n'
        by_task += f'        "~^tasks/[a-z]+ {name}\\." {name};\n'
    with open(TEMPLATE) as f:
        text = f.read()
    for key, value in {"@DIR@": directory, "@PORT@": str(port), "@UPSTREAMS@": upstreams,
                       "@BY_SESSION@": by_session, "@BY_TASK@": by_task}.items():
        text = text.replace(key, value)
    return text


def round_robin(directory: str, port: int, ports: "list[int]") -> str:
    """The configuration for nginx on 127.0.0.1:`port` in front of the
    replicas on `ports`, with no affinity rule at all: every request goes
    to the next replica in turn (a replica that refuses a connection is
    skipped for a second or two: nginx counts in whole seconds)."""
    upstreams = "    upstream all {\n        zone all 64k;\n" + "".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;\n" for p in ports)
    upstreams += "        keepalive 64;\n    }\n"
    with open(TEMPLATE) as f:
        text = f.read()
    for key, value in {"@DIR@": directory, "@PORT@": str(port), "@UPSTREAMS@": upstreams,
                       "@BY_SESSION@": "", "@BY_TASK@": ""}.items():
        text = text.replace(key, value)
    return text
