"""``--workers`` prints nothing of Dask's on stderr when another cluster holds the dashboard port
(issue 16: the port clash warning landed in the output, even under --json)."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("distributed")


def test_port_clash_is_not_printed(capfd):
    from drills.studies.experiment import _open_client

    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen()
    except OSError:
        pass  # someone else holds it already: the clash happens either way
    try:
        client, cluster = _open_client(1, None)
        client.close()
        cluster.close()
    finally:
        holder.close()
    err = capfd.readouterr().err
    assert "already in use" not in err and "Hosting the HTTP server" not in err, err
