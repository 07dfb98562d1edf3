from swarmgate.locustfiles.validation import shape_problem

PAGE = {"items": [{"id": int, "name": str}], "total": int}


def test_matching_body_has_no_problem():
    assert shape_problem({"items": [{"id": 1, "name": "a", "extra": 1}], "total": 1}, PAGE) is None
    assert shape_problem({"items": [], "total": 0}, PAGE) is None
    assert shape_problem({"total_usd": 3}, {"total_usd": float}) is None  # an int is a valid number


def test_each_kind_of_wrong_body_is_named():
    assert shape_problem({"unexpected": True}, PAGE) == "body lacks key 'items'"
    assert shape_problem([], PAGE) == "body is not an object"
    assert shape_problem({"items": {}, "total": 1}, PAGE) == "body.items is not a list"
    assert shape_problem({"items": [{"id": "7", "name": "a"}], "total": 1}, PAGE) == "body.items[0].id is not a number"
    assert shape_problem({"items": [], "total": True}, PAGE) == "body.total is not a number"


def test_messages_never_quote_the_body():
    secret = "tok_ABCDEF123456"
    problem = shape_problem({"access_token": 5, "note": secret}, {"access_token": str})
    assert problem is not None and secret not in problem and "5" not in problem
