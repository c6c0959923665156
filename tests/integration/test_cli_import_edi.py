"""``orderhub import FILE.edi --channel CODE`` reads an X12 interchange and prints the 997."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.cli import app
from orderhub.domain.channels import Channel, ChannelKind
from tests.unit.channels.edi_fixtures import FIXTURES


@pytest.fixture
def edi_channel(seeded: Container, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    with seeded.uow() as uow:
        uow.channels.add(Channel("xyz", "XYZ Retail", ChannelKind.EDI_X12))
        uow.commit()
    return seeded


def test_import_of_an_edi_file_ingests_its_pos_and_prints_the_997(edi_channel: Container) -> None:
    path = FIXTURES / "edi_x12" / "vics_850_tilde_newlines.edi"
    result = CliRunner().invoke(app, ["import", str(path), "--channel", "xyz"])
    assert result.exit_code == 0, result.output
    assert "PO 08292233294 (set 000000010): quarantined" in result.output
    assert "AK9*A*1*1*1~" in result.output
    with edi_channel.uow(read_only=True) as uow:
        assert uow.control_numbers.last("xyz", "12:4405197800") == 1


def test_import_of_a_bad_interchange_exits_1(edi_channel: Container) -> None:
    path = FIXTURES / "edi_x12" / "bad_iea_control_number.edi"
    result = CliRunner().invoke(app, ["import", str(path), "--channel", "xyz"])
    assert result.exit_code == 1
    assert "TA1*000003438*101127*1719*R*001~" in result.output
    assert "IEA02 '000003439' differs from ISA13" in result.output
