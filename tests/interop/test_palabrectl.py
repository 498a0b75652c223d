"""palabrectl user add/del/passwd/list, while palabred runs.

The password is read from standard input, one line, never from argv.
"""
import os

import pytest



def test_added_user_logs_in_at_once(server, clients):
    server.ctl_ok("user", "add", "frank@localhost", stdin="frank-pw-1\n")
    frank = clients.login("frank@localhost/pc", "frank-pw-1")
    assert frank.jid == "frank@localhost/pc"


def test_adding_an_existing_user_fails(server):
    r = server.ctl("user", "add", "alice@localhost", stdin="other\n")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "alice@localhost" in r.stderr
    assert "exist" in r.stderr


def test_existing_password_survives_a_failed_add(server, clients):
    server.ctl("user", "add", "alice@localhost", stdin="other\n")
    assert clients.login_failure("alice@localhost/pc", "other",
                                 mech="PLAIN") == "not-authorized"
    clients.login("alice@localhost/pc2")


def test_passwd_changes_the_password(server, clients):
    server.ctl_ok("user", "add", "grace@localhost", stdin="old-pw\n")
    clients.login("grace@localhost/pc", "old-pw")
    server.ctl_ok("user", "passwd", "grace@localhost", stdin="new-pw\n")
    for mech in ("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"):
        assert clients.login_failure("grace@localhost/a", "old-pw",
                                     mech=mech) == "not-authorized"
        clients.login("grace@localhost/b", "new-pw", mech=mech)


def test_passwd_of_unknown_user_fails(server):
    r = server.ctl("user", "passwd", "nobody@localhost", stdin="pw\n")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "nobody@localhost" in r.stderr


def test_del_removes_the_user(server, clients):
    server.ctl_ok("user", "add", "heidi@localhost", stdin="heidi-pw\n")
    clients.login("heidi@localhost/pc", "heidi-pw")
    server.ctl_ok("user", "del", "heidi@localhost")
    assert clients.login_failure("heidi@localhost/pc2", "heidi-pw",
                                 mech="PLAIN") == "not-authorized"
    assert "heidi@localhost" not in server.ctl_ok(
        "user", "list", "localhost").stdout.split()


def test_del_of_unknown_user_fails(server):
    r = server.ctl("user", "del", "nobody@localhost")
    assert r.returncode == 1, (r.stdout, r.stderr)


def test_list_shows_the_users_of_one_domain(server):
    listed = server.ctl_ok("user", "list", "localhost").stdout.split()
    for jid in ("alice@localhost", "bob@localhost", "carol@localhost"):
        assert jid in listed or jid.split("@")[0] in listed, listed
    assert not any("erin" in x for x in listed), listed
    other = server.ctl_ok("user", "list", "chat.example").stdout.split()
    assert any("erin" in x for x in other), other


def test_password_on_the_command_line_is_refused(server):
    r = server.ctl("user", "add", "ivan@localhost", "ivan-pw", stdin="")
    assert r.returncode == 2, (r.stdout, r.stderr)
    listed = server.ctl_ok("user", "list", "localhost").stdout
    assert "ivan" not in listed


def test_add_to_a_domain_not_served_fails(server):
    r = server.ctl("user", "add", "judy@unserved.example", stdin="pw\n")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "unserved.example" in r.stderr


@pytest.mark.parametrize("args", [[], ["user"], ["user", "add"],
                                  ["user", "frobnicate", "a@localhost"],
                                  ["user", "import", "a@localhost"]])
def test_usage_errors_exit_2(server, args):
    r = server.ctl(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)


def test_no_clear_password_is_stored(server):
    server.ctl_ok("user", "add", "mallory@localhost",
                  stdin="Very-Distinctive-Pw-42\n")
    data = os.path.join(server.dir, "data")
    for name in os.listdir(data):
        with open(os.path.join(data, name), "rb") as f:
            assert b"Very-Distinctive-Pw-42" not in f.read(), name


def test_first_user_add_makes_the_data_directory(tmp_path, certs):
    # As after `make run`: config.xml and certificates, no data/ yet.
    from palabre import Palabre
    s = Palabre(tmp_path, certs, users={}, make_data_dir=False)
    assert not os.path.exists(tmp_path / "data")
    s.ctl_ok("user", "add", "peggy@localhost", stdin="peggy-pw\n")
    assert "peggy" in s.ctl_ok("user", "list", "localhost").stdout


def test_users_added_while_stopped_are_known_when_started(tmp_path, certs,
                                                          clients):
    from palabre import Palabre
    s = Palabre(tmp_path, certs, users={})
    s.ctl_ok("user", "add", "oscar@localhost", stdin="oscar-pw\n")
    try:
        s.start()
        clients.server = s
        clients.login("oscar@localhost/pc", "oscar-pw")
    finally:
        s.stop()


def test_import_adds_many_and_skips_what_is_wrong(server, clients):
    lines = ["imp%d@localhost imp-pw-%d" % (i, i) for i in range(300)]
    lines += ["alice@localhost not-alice-s-password",  # exists: left alone
              "nobody-at-all pw",                        # not a JID
              "x@not-served.example pw"]                 # not our domain
    r = server.ctl("-i", "4096", "user", "import",
                   stdin="\n".join(lines) + "\n")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "300 account(s) added, 1 already existed, 2 line(s) in error" \
        in r.stderr, r.stderr
    assert "line 302:" in r.stderr and "line 303:" in r.stderr
    for mech in ("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"):
        clients.login("imp299@localhost/pc", "imp-pw-299", mech=mech)
    clients.login("alice@localhost/pc")  # its own password still works
    listed = server.ctl_ok("user", "list", "localhost").stdout.split()
    assert "imp0@localhost" in listed and "imp299@localhost" in listed


def test_import_iterations_below_the_minimum_are_refused(server):
    r = server.ctl("-i", "1000", "user", "import", stdin="a@localhost b\n")
    assert r.returncode == 1 and "4096" in r.stderr, r.stderr
