"""`cesync config check` and `config print-defaults` as an operator uses them."""
import subprocess


def run(cesync_bin, *args):
    return subprocess.run([cesync_bin, *args], capture_output=True, text=True, timeout=30)


def test_check_accepts_a_good_file(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("tables:\n  - table: shop.product\n    direction: both\n    timestamp_column: ts\n")
    out = run(cesync_bin, "config", "check", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "shop.product -> shop_product (both)" in out.stdout


def test_check_names_key_line_and_column(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("cassandra:\n  contact_pionts: [x]\ntables:\n  - table: shop.product\n")
    out = run(cesync_bin, "config", "check", "--config", str(cfg))
    assert out.returncode == 2
    assert f"{cfg}:2:3: key 'cassandra.contact_pionts': unknown key" in out.stderr
    assert "did you mean 'cassandra.contact_points'" in out.stderr


def test_secret_from_environment_is_never_printed(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("cassandra: {username: app}\ntables:\n  - table: shop.product\n")
    out = subprocess.run(
        [cesync_bin, "config", "check", "--config", str(cfg)],
        capture_output=True, text=True, timeout=30,
        env={"CESYNC_CASSANDRA_PASSWORD": "hunter2-very-secret"},
    )
    assert out.returncode == 0, out.stderr
    assert "hunter2-very-secret" not in out.stdout + out.stderr


def test_printed_defaults_are_a_valid_config(cesync_bin, tmp_path):
    out = run(cesync_bin, "config", "print-defaults")
    assert out.returncode == 0
    cfg = tmp_path / "defaults.yaml"
    cfg.write_text(out.stdout)
    check = run(cesync_bin, "config", "check", "--config", str(cfg))
    assert check.returncode == 0, check.stderr


def test_missing_file_is_a_clear_error(cesync_bin, tmp_path):
    out = run(cesync_bin, "config", "check", "--config", str(tmp_path / "nope.yaml"))
    assert out.returncode == 2
    assert "cannot read the configuration file" in out.stderr
