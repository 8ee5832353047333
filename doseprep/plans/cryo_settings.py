"""The cryo figures: the lab's (``[cryo]`` in the lab file, :attr:`LabSettings.cryo`) and the
protocol's (:attr:`Protocol.cryo`). The defaults are DESIGN.md's examples, which a lab replaces
with its validated figures; the settings model lives with the other settings
(:mod:`doseprep.protocol.model`)."""

from __future__ import annotations

from doseprep.protocol.model import Bag, CryoSettings, ProtocolCryo

DEFAULT_CRYO = CryoSettings()
DEFAULT_PROTOCOL_CRYO = ProtocolCryo()

__all__ = ["DEFAULT_CRYO", "DEFAULT_PROTOCOL_CRYO", "Bag", "CryoSettings", "ProtocolCryo"]
