"""QR codes of short links: SVG and PNG encoding the link's short URL, scoped to the program."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ElementTree

import segno
from fastapi.testclient import TestClient

from partnerloop.link.qr import qr_image
from tests.conftest import ProgramKeys
from tests.tracking.helpers import make_link


def test_svg_qr_encodes_the_short_url(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="spring")
    response = client.get(f"/api/v1/links/{link['id']}/qr.svg", headers=program.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert response.content == qr_image("http://testserver/go/spring", "svg")
    assert response.content != qr_image("http://testserver/go/sprinG", "svg")


def test_png_qr_has_the_size_of_the_code(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="spring")
    response = client.get(f"/api/v1/links/{link['id']}/qr.png?scale=4&border=2", headers=program.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", response.content[16:24])
    modules = segno.make("http://testserver/go/spring", error="m", micro=False).symbol_size(scale=4, border=2)
    assert (width, height) == modules
    expected = io.BytesIO()
    segno.make("http://testserver/go/spring", error="m", micro=False).save(expected, kind="png", scale=4, border=2)
    assert response.content == expected.getvalue()


def test_qr_of_another_programs_link_is_404(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    link = make_link(client, program, key="spring")
    assert client.get(f"/api/v1/links/{link['id']}/qr.svg", headers=other_program.headers).status_code == 404
    assert client.get(f"/api/v1/links/{link['id']}/qr.png").status_code == 401


def test_a_silly_scale_is_a_422(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="spring")
    assert client.get(f"/api/v1/links/{link['id']}/qr.png?scale=1000", headers=program.headers).status_code == 422
