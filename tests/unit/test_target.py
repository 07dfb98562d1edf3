import pytest

from swarmgate.core.errors import BadInput, RunFailed
from swarmgate.target import check_reachable, validate_host
from tests.helpers import closed_port


@pytest.mark.parametrize(
    "url,problem",
    [("ftp://example", "expected an http:// or https:// URL"), ("127.0.0.1:8000", "expected an http:// or https://"),
     ("http://", "with a host name"), ("http://user:pw@127.0.0.1", "credentials in the URL are refused"),
     ("http://127.0.0.1:99999", "Port out of range"), ("http://127.0.0.1/x?token=a", "without ?query"),
     ("http://127.0.0.1 ; rm -rf /", "whitespace or control characters"), ("http://127.0.0.1:0", "port 0")],
)  # fmt: skip
def test_bad_hosts_are_refused_for_their_problem(url, problem):
    with pytest.raises(BadInput) as err:
        validate_host(url)
    assert err.value.message.startswith("--host")
    assert "\n" not in err.value.message and problem in err.value.message


def test_good_host_loses_trailing_slash():
    assert validate_host("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert validate_host("https://localhost/api") == "https://localhost/api"


def test_closed_port_is_unreachable():
    with pytest.raises(RunFailed) as err:
        check_reachable(f"http://127.0.0.1:{closed_port()}")
    assert "connection refused" in err.value.message
