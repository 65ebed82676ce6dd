# -*- Python -*-
# Runs the GoogleTest binaries under build/unittests as part of check-weft.

import os

import lit.formats

config.name = "WEFT-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.weft_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
if config.weft_sanitizers:
    config.environment["ASAN_OPTIONS"] = "detect_leaks=1:allow_user_poisoning=0"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
