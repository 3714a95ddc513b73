def test_signup_login_me(api, person):
    alice = person()
    me = alice.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == alice.username
