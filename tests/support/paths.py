"""Where the tests' files are, wherever a test module sits."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
DATA = TESTS / "data"
FIXTURES = TESTS / "channels" / "fixtures"
