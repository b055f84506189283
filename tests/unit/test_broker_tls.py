"""The local broker's TLS material (ops/services/tls.py): made once and kept while whole;
made again, never a traceback, when a file is damaged or the files no longer belong together
(a crash between two writes)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from ops.services import tls


def _whole(home: Path) -> None:
    folder = tls.folder(home)
    cert = x509.load_pem_x509_certificate((folder / tls.CERT_FILE).read_bytes())
    ca = x509.load_pem_x509_certificate((folder / tls.CA_FILE).read_bytes())
    cert.verify_directly_issued_by(ca)  # raises unless the CA beside it signed it


def test_the_material_is_made_once_and_kept(tmp_path: Path) -> None:
    made = tls.broker_tls(tmp_path, "127.0.0.1")
    assert tls.broker_tls(tmp_path, "127.0.0.1") == made
    _whole(tmp_path)
    assert oct((tls.folder(tmp_path) / tls.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_files_that_no_longer_belong_together_are_made_again(tmp_path: Path) -> None:
    made = tls.broker_tls(tmp_path, "127.0.0.1")
    other = tls.broker_tls(tmp_path / "other", "127.0.0.1")
    (tls.folder(tmp_path) / tls.CA_FILE).write_text(other.ca)  # a new CA, the old certificate
    again = tls.broker_tls(tmp_path, "127.0.0.1")
    assert again != made and again.ca != other.ca
    _whole(tmp_path)
    (tls.folder(tmp_path) / tls.KEY_FILE).write_text(other.key)  # another key
    assert tls.broker_tls(tmp_path, "127.0.0.1") != again
    _whole(tmp_path)


def test_a_damaged_file_is_made_again_not_a_traceback(tmp_path: Path) -> None:
    tls.broker_tls(tmp_path, "127.0.0.1")
    cert = tls.folder(tmp_path) / tls.CERT_FILE
    cert.write_text(cert.read_text()[:100])
    tls.broker_tls(tmp_path, "127.0.0.1")
    _whole(tmp_path)


def test_another_host_gets_a_certificate_naming_it(tmp_path: Path) -> None:
    tls.broker_tls(tmp_path, "127.0.0.1")
    tls.broker_tls(tmp_path, "broker.city.example.invalid")
    cert = x509.load_pem_x509_certificate((tls.folder(tmp_path) / tls.CERT_FILE).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "broker.city.example.invalid" in names.get_values_for_type(x509.DNSName)
