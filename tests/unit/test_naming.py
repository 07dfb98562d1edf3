from swarmgate.locustfiles.naming import group_name


def test_numeric_and_uuid_segments_become_id():
    assert group_name("/api/workspaces/42") == "/api/workspaces/[id]"
    assert group_name("/api/workspaces/42/workflows") == "/api/workspaces/[id]/workflows"
    assert group_name("/api/x/123e4567-e89b-12d3-a456-426614174000") == "/api/x/[id]"
    assert group_name("/api/blobs/0123456789abcdef0123") == "/api/blobs/[id]"


def test_query_string_and_words_are_kept_apart():
    assert group_name("/api/knowledge/search?q=cache") == "/api/knowledge/search"
    assert group_name("/api/v2/users") == "/api/v2/users"
    assert group_name("/api/cafe") == "/api/cafe"  # short hex-looking words are names, not ids
