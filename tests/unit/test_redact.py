from swarmgate.core.redact import mask, strip_credentials


def test_credentials_and_secret_query_values_are_removed():
    assert strip_credentials("http://bob:hunter2@127.0.0.1:8000/api") == "http://127.0.0.1:8000/api"
    assert strip_credentials("https://h/x?token=abc&page=2") == "https://h/x?token=***&page=2"
    assert "hunter2" not in strip_credentials("http://:hunter2@h")


def test_mask_replaces_every_occurrence():
    assert mask("a s3cret b s3cret", ["s3cret"]) == "a *** b ***"
