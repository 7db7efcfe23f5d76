"""User data header information elements (3GPP TS 23.040 §9.2.3.24)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers._exceptions import PduError

__all__ = [
    "InformationElement",
    "Concat",
    "Ports",
    "IEI_CONCAT_8",
    "IEI_CONCAT_16",
    "IEI_PORTS_8",
    "IEI_PORTS_16",
    "IEI_NATIONAL_SINGLE_SHIFT",
    "IEI_NATIONAL_LOCKING_SHIFT",
    "parse",
    "build",
    "concat_ie",
    "concat_of",
    "ports_of",
]

IEI_CONCAT_8 = 0x00  # §9.2.3.24.1
IEI_PORTS_8 = 0x04  # §9.2.3.24.3
IEI_PORTS_16 = 0x05  # §9.2.3.24.4
IEI_CONCAT_16 = 0x08  # §9.2.3.24.8
IEI_NATIONAL_SINGLE_SHIFT = 0x24  # §9.2.3.24.15
IEI_NATIONAL_LOCKING_SHIFT = 0x25  # §9.2.3.24.16

_NAMES = {
    IEI_CONCAT_8: "concat8",
    IEI_PORTS_8: "ports8",
    IEI_PORTS_16: "ports16",
    IEI_CONCAT_16: "concat16",
    IEI_NATIONAL_SINGLE_SHIFT: "national_single_shift",
    IEI_NATIONAL_LOCKING_SHIFT: "national_locking_shift",
}


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One IE as it stands in the header: identifier and raw data."""

    iei: int
    data: bytes

    @property
    def name(self) -> str:
        return _NAMES.get(self.iei, "unknown")

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"iei": self.iei, "name": self.name, "data": self.data.hex().upper()}
        d = self.data
        if self.iei == IEI_CONCAT_8 and len(d) == 3:
            out.update(ref=d[0], total=d[1], seq=d[2])
        elif self.iei == IEI_CONCAT_16 and len(d) == 4:
            out.update(ref=(d[0] << 8) | d[1], total=d[2], seq=d[3])
        elif self.iei == IEI_PORTS_8 and len(d) == 2:
            out.update(destination_port=d[0], origin_port=d[1])
        elif self.iei == IEI_PORTS_16 and len(d) == 4:
            out.update(destination_port=(d[0] << 8) | d[1], origin_port=(d[2] << 8) | d[3])
        elif self.iei in (IEI_NATIONAL_SINGLE_SHIFT, IEI_NATIONAL_LOCKING_SHIFT) and len(d) == 1:
            out.update(language=d[0])
        return out


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation info: reference, number of parts, this part's 1-based sequence."""

    ref: int
    total: int
    seq: int
    ref16: bool = False

    def to_dict(self) -> dict[str, int]:
        return {"ref": self.ref, "total": self.total, "seq": self.seq}


@dataclass(frozen=True, slots=True)
class Ports:
    """Application port addressing (WAP push, vCard, …)."""

    destination: int
    origin: int


def parse(header: bytes, offset: int = 0) -> tuple[InformationElement, ...]:
    """Split a UDH (without its UDHL octet) into IEs; `offset` is for error positions."""
    ies: list[InformationElement] = []
    i = 0
    n = len(header)
    while i < n:
        if i + 1 >= n:
            raise PduError("user data header ends inside an information element", offset + i)
        iei = header[i]
        length = header[i + 1]
        end = i + 2 + length
        if end > n:
            raise PduError(f"information element 0x{iei:02X} of {length} octets overruns the header", offset + i)
        ies.append(InformationElement(iei, header[i + 2 : end]))
        i = end
    return tuple(ies)


def concat_of(ies: tuple[InformationElement, ...]) -> Concat | None:
    """The concatenation IE, if a valid one is present (§9.2.3.24.1: zero values are ignored)."""
    for ie in ies:
        d = ie.data
        if ie.iei == IEI_CONCAT_8 and len(d) == 3:
            ref, total, seq, ref16 = d[0], d[1], d[2], False
        elif ie.iei == IEI_CONCAT_16 and len(d) == 4:
            ref, total, seq, ref16 = (d[0] << 8) | d[1], d[2], d[3], True
        else:
            continue
        if total == 0 or seq == 0 or seq > total:
            continue
        return Concat(ref, total, seq, ref16)
    return None


def ports_of(ies: tuple[InformationElement, ...]) -> Ports | None:
    for ie in ies:
        d = ie.data
        if ie.iei == IEI_PORTS_8 and len(d) == 2:
            return Ports(d[0], d[1])
        if ie.iei == IEI_PORTS_16 and len(d) == 4:
            return Ports((d[0] << 8) | d[1], (d[2] << 8) | d[3])
    return None


def concat_ie(ref: int, total: int, seq: int, *, ref16: bool = False) -> InformationElement:
    """Build the concatenation IE for part `seq` of `total`."""
    if ref16:
        return InformationElement(IEI_CONCAT_16, bytes((ref >> 8 & 0xFF, ref & 0xFF, total, seq)))
    return InformationElement(IEI_CONCAT_8, bytes((ref & 0xFF, total, seq)))


def build(ies: tuple[InformationElement, ...] | list[InformationElement]) -> bytes:
    """UDHL + IEs, ready to prefix the user data."""
    body = b"".join(bytes((ie.iei, len(ie.data))) + ie.data for ie in ies)
    return bytes((len(body),)) + body
