"""Runs a command and fails unless it exits with the expected status.

    exit-status.py STATUS COMMAND ARGS...

The command's output passes through, for FileCheck.
"""

import subprocess
import sys

expected = int(sys.argv[1])
status = subprocess.run(sys.argv[2:]).returncode
if status != expected:
    sys.stdout.flush()
    sys.exit(f"exit-status.py: expected exit status {expected}, got {status}")
