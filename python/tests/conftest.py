import os
import sys

# Use the package from the source tree without installing it.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))
