"""`rapidaid dev` as a new user meets it: a taken port gives one clear line."""

import os
import socket
import subprocess
import sys

from tests.integration.conftest import free_port


def test_a_taken_port_gives_one_clear_line(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {
            **os.environ,
            "RAPIDAID_KAFKA": f"127.0.0.1:{free_port()}",
            "RAPIDAID_REDIS": f"redis://127.0.0.1:{free_port()}/0",
            "RAPIDAID_PORT": str(taken),
            "RAPIDAID_DATA_DIR": str(tmp_path),
        }
        done = subprocess.run([sys.executable, "-m", "streams", "dev"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    hint = "stop what holds it or choose another port with RAPIDAID_* settings"
    assert done.stderr.strip().splitlines() == [f"rapidaid dev: port {taken} on 127.0.0.1 (API) is already in use; {hint}"]
