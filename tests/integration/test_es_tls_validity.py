"""Server certificates that are expired, not yet valid, issued for
another host or for client authentication only, checked by
`logferry test output` in each ssl.verification_mode, with the CA given
as a file and as a pinned fingerprint. Certificates are made by the
test with `openssl ca`, whose -startdate and -enddate set any validity
period."""

import os

import harness
from harness import check, check_eq
from test_es_connection import (config_for, fingerprint, make_ca, openssl,
                                run_test_output, tls_standin, write_logs)

CA_CONFIG = """\
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
[ server ]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1
extendedKeyUsage = serverAuth
[ other_host ]
basicConstraints = CA:FALSE
subjectAltName = DNS:elsewhere.invalid
extendedKeyUsage = serverAuth
[ client_only ]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1
extendedKeyUsage = clientAuth
"""

# name: (extensions section, start date, end date)
CERTIFICATES = {
    "valid": ("server", "20250101000000Z", "20991231000000Z"),
    "expired": ("server", "20200101000000Z", "20200201000000Z"),
    "not_yet_valid": ("server", "20980101000000Z", "20990101000000Z"),
    "other_host": ("other_host", "20250101000000Z", "20991231000000Z"),
    "client_only": ("client_only", "20250101000000Z", "20991231000000Z"),
}

OK = "OK"
EXPIRED = "certificate has expired"
NOT_YET_VALID = "certificate is not yet valid"
HOST = ("no alternative certificate subject name matches target host "
        "name '127.0.0.1'")
PURPOSE = "unsuitable certificate purpose"

# certificate: expected result in modes full, certificate and none.
EXPECTED = {
    "valid": (OK, OK, OK),
    "expired": (EXPIRED, EXPIRED, OK),
    "not_yet_valid": (NOT_YET_VALID, NOT_YET_VALID, OK),
    "other_host": (HOST, OK, OK),
    "client_only": (PURPOSE, PURPOSE, OK),
}

MODES = ("full", "certificate", "none")


def issue(scratch, name, extensions, start, end):
    """Issue a certificate signed by the test CA; return (chain, key)."""
    openssl(scratch, "req", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
            "-keyout", name + ".key", "-out", name + ".csr")
    openssl(scratch, "ca", "-batch", "-config", "ca.cnf", "-extensions",
            extensions, "-cert", "ca.pem", "-keyfile", "ca.key", "-in",
            name + ".csr", "-out", name + ".crt", "-startdate", start,
            "-enddate", end, "-notext")
    with open(scratch.join("pki", name + ".crt")) as leaf, \
            open(scratch.join("pki", "ca.pem")) as issuer:
        chain = leaf.read() + issuer.read()
    return (scratch.write("pki/%s-chain.pem" % name, chain),
            scratch.join("pki", name + ".key"))


def make_certificates(scratch):
    os.makedirs(scratch.join("pki", "issued"))
    scratch.write("pki/index.txt", "")
    scratch.write("pki/serial", "1000\n")
    scratch.write("pki/ca.cnf", CA_CONFIG.format(dir=scratch.join("pki")))
    make_ca(scratch, "ca")
    return {name: issue(scratch, name, *spec)
            for name, spec in CERTIFICATES.items()}


def connection_line(proc):
    lines = [l for l in proc.stdout.splitlines() if "connection:" in l]
    check_eq(len(lines), 1, "connection lines in %r" % proc.stdout)
    return lines[0]


def check_matrix(scratch, certificates, trust, label):
    path, _, _ = write_logs(scratch, 1)
    for name, (chain, key) in certificates.items():
        standin = tls_standin(scratch, {"server_cert": chain,
                                        "server_key": key})
        for mode, expected in zip(MODES, EXPECTED[name]):
            if mode == "none" and "ssl.ca_trusted_fingerprint" in trust:
                continue  # a pin with mode none is a configuration error
            output = dict(trust, **{"ssl.verification_mode": mode})
            config = config_for(scratch, path, [standin.url], output,
                                name="%s-%s-%s.yml" % (label, name, mode))
            line = connection_line(run_test_output(config))
            what = "%s, %s certificate, mode %s" % (label, name, mode)
            if expected == OK:
                check(line.startswith("  connection: OK (TLS"),
                      "%s: %s" % (what, line))
            else:
                check(line.startswith("  connection: FAILED: tls handshake "
                                      "or certificate failed"),
                      "%s: %s" % (what, line))
                check(expected in line, "%s: %s" % (what, line))


def test_tls_validity_with_ca_file(scratch):
    certificates = make_certificates(scratch)
    trust = {"ssl.certificate_authorities": [scratch.join("pki",
                                                          "ca.pem")]}
    check_matrix(scratch, certificates, trust, "ca file")


def test_tls_validity_with_pinned_ca(scratch):
    certificates = make_certificates(scratch)
    trust = {"ssl.ca_trusted_fingerprint":
             fingerprint(scratch.join("pki", "ca.pem"))}
    check_matrix(scratch, certificates, trust, "pinned ca")


if __name__ == "__main__":
    harness.main([test_tls_validity_with_ca_file,
                  test_tls_validity_with_pinned_ca])
