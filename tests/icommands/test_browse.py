"""iinit, ils (-l, -L, -r, -A), imkdir -p, iquest and ienv: same effect and output on both zones."""

from __future__ import annotations

from pathlib import Path

from tests.icommands.conftest import PASSWORD, Zone, make_tree


def test_iinit_stores_a_password_the_next_command_uses(zone: Zone, tmp_path: Path) -> None:
    zone.auth_file.unlink()
    try:
        result = zone.run("iinit", input=PASSWORD + "\n")
        assert zone.auth_file.exists() and zone.auth_file.stat().st_mode & 0o777 == 0o600
        listing = zone.run("ils")
        assert listing.stdout.splitlines()[0] == f"{zone.home}:"
        assert f"Connecting as {zone.user}#{zone.zone}" in result.stdout + result.stderr
    finally:
        if not zone.auth_file.exists():
            from irods.password_obfuscation import encode
            zone.auth_file.write_text(encode(PASSWORD))
            zone.auth_file.chmod(0o600)


def test_iinit_with_a_wrong_password_fails(zone: Zone) -> None:
    saved = zone.auth_file.read_text()
    zone.auth_file.unlink()
    try:
        result = zone.run("iinit", input="not-the-password\n", check=False)
        assert result.returncode != 0
        assert "CAT_INVALID_AUTHENTICATION" in result.stdout + result.stderr
    finally:
        zone.auth_file.write_text(saved)
        zone.auth_file.chmod(0o600)


def _populate(zone: Zone, coll: str, local: Path) -> None:
    make_tree(local)
    zone.run("imkdir", "-p", f"{coll}/empty/nested")
    zone.run("iput", "-r", str(local), f"{coll}/data")
    zone.run("iput", str(local / "a.txt"), f"{coll}/top.txt")


def test_imkdir_p_makes_every_missing_level(zone: Zone, coll: str) -> None:
    zone.run("imkdir", "-p", f"{coll}/x/y/z")
    zone.run("imkdir", "-p", f"{coll}/x/y/z")  # existing: no error
    with zone.user_session() as session:
        for path in ("x", "x/y", "x/y/z"):
            assert session.collections.exists(f"{coll}/{path}")
    again = zone.run("imkdir", f"{coll}/x", check=False)
    assert again.returncode != 0 and "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME" in again.stdout + again.stderr
    missing = zone.run("imkdir", f"{coll}/nope/child", check=False)
    assert missing.returncode != 0


def test_ils_lists_what_was_made(zone: Zone, coll: str, tmp_path: Path) -> None:
    _populate(zone, coll, tmp_path / "tree")
    plain = zone.run("ils", coll).stdout.splitlines()
    assert plain == [f"{coll}:", "  top.txt", f"  C- {coll}/data", f"  C- {coll}/empty"]
    recursive = zone.run("ils", "-r", f"{coll}/data").stdout
    assert f"{coll}/data/sub/deeper:\n  d.txt\n  e.txt\n" in recursive
    long = zone.run("ils", "-l", coll).stdout.splitlines()
    fields = long[1].split()
    assert fields[0] == zone.user and fields[2] == "demoResc" and fields[3] == "6" and fields[-1] == "top.txt"
    very_long = zone.run("ils", "-L", f"{coll}/top.txt").stdout.splitlines()
    assert very_long[1].split()[0] == "generic" or "generic" in very_long[1]
    acls = zone.run("ils", "-A", coll).stdout
    assert f"ACL - {zone.user}#{zone.zone}:own" in acls and "Inheritance - Disabled" in acls


def test_ils_output_is_the_same_on_both_zones(both_zones: tuple[Zone, Zone], tmp_path: Path) -> None:
    outputs = []
    for zone in both_zones:
        coll = f"{zone.home}/ils_compare"
        zone.run("irm", "-rf", coll, check=False)
        zone.run("imkdir", "-p", coll)
        try:
            _populate(zone, coll, tmp_path / zone.name)
            zone.run("ichmod", "read", "rods", f"{coll}/top.txt")
            outputs.append([zone.normalize(zone.run("ils", *flags, coll).stdout)
                            for flags in ((), ("-l",), ("-L",), ("-r",), ("-A",), ("-r", "-A"))])
        finally:
            zone.run("irm", "-rf", coll, check=False)
    assert outputs[0] == outputs[1]


def test_iquest_formats_and_conditions(zone: Zone, coll: str, tmp_path: Path) -> None:
    _populate(zone, coll, tmp_path / "tree")
    out = zone.run("iquest", "%s/%s %s", f"select COLL_NAME, DATA_NAME, DATA_SIZE where COLL_NAME like '{coll}/data%' "
                   "and DATA_NAME like '%.txt'").stdout.splitlines()
    assert sorted(out) == sorted([f"{coll}/data/a.txt 6", f"{coll}/data/sub/c.txt 6",
                                  f"{coll}/data/sub/deeper/d.txt 0", f"{coll}/data/sub/deeper/e.txt 800"])
    count = zone.run("iquest", "%s", f"select count(DATA_ID) where COLL_NAME = '{coll}/data'").stdout.split()
    assert count == ["2"]
    none = zone.run("iquest", f"select DATA_NAME where COLL_NAME = '{coll}/nothing'", check=False)
    assert "CAT_NO_ROWS_FOUND" in none.stdout + none.stderr


def test_iquest_output_is_the_same_on_both_zones(both_zones: tuple[Zone, Zone], tmp_path: Path) -> None:
    outputs = []
    for zone in both_zones:
        coll = f"{zone.home}/iquest_compare"
        zone.run("irm", "-rf", coll, check=False)
        zone.run("imkdir", "-p", coll)
        try:
            _populate(zone, coll, tmp_path / zone.name)
            query = f"select DATA_NAME, DATA_SIZE, COLL_NAME where COLL_NAME like '{coll}%'"
            outputs.append([zone.normalize(zone.run("iquest", query).stdout),
                            zone.normalize(zone.run("iquest", "%s:%s", query).stdout)])
        finally:
            zone.run("irm", "-rf", coll, check=False)
    assert outputs[0] == outputs[1]


def test_ienv_shows_the_environment(zone: Zone) -> None:
    out = zone.run("ienv").stdout
    assert f"irods_user_name - {zone.user}" in out and f"irods_zone_name - {zone.zone}" in out
