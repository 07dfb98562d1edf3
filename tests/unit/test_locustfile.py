"""A team's locustfile is listed by Locust's own loader in a child process; what cannot run is one line."""

from __future__ import annotations

import pytest

from swarmgate.core.errors import BadInput
from swarmgate.locustfile import inspect_locustfile

USERS = "from locust import HttpUser, task\n\n\nclass A(HttpUser):\n    @task\n    def t(self):\n        pass\n"


def test_classes_are_found_even_after_text_the_file_prints_without_a_newline(tmp_path):
    path = tmp_path / "users.py"
    path.write_text('import sys\nsys.stdout.write("loading users... ")\n' + USERS + "\n\nclass B(A):\n    weight = 0\n")
    found = inspect_locustfile(path)
    assert (found.path, found.classes, found.shapes) == (path, {"A": 1, "B": 0}, ())


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("quits.py", "import sys\nsys.exit(3)\n", "the locustfile cannot be imported: {path}: it exited with status 3 "
                                                  "while imported; fix it and run again"),
        ("long.py", 'raise ValueError("first line\\nsecond line")\n', "the locustfile cannot be imported: {path}, "
                                                                      "line 1: ValueError: first line second line; "
                                                                      "fix it and run again"),
        ("abstract.py", "from locust import HttpUser\n", "the locustfile {path} defines no user class"),
        ("swarmgate.py", USERS, "the locustfile {path} is named swarmgate.py, like a package it needs; rename it"),
        ("my,users.py", USERS, "the locustfile {path} has a comma in its path"),
        ("users.txt", USERS, "the locustfile {path} is not a .py file"),
    ],
)  # fmt: skip
def test_what_cannot_run_is_refused_in_one_line(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(BadInput) as err:
        inspect_locustfile(path)
    assert err.value.message.startswith(expected.format(path=path)) and "\n" not in err.value.message
