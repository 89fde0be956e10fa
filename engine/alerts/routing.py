"""Jurisdiction (管辖): which market-regulation bureau should act on an alert.

Every merchant the engine sees sells on a platform (平台内经营者). For them:

* 《市场监督管理行政处罚程序规定》第十条: the violations of a platform merchant
  are handled by the bureau of its actual operating place (实际经营地); the
  bureau of the platform operator's domicile may also handle them when it
  found the lead first or received the complaint/report.
* 《市场监督管理投诉举报处理暂行办法》(2019, amended 2022) 第十二条 (complaints)
  and 第二十七条 (reports): same split — actual operating place, or the
  platform operator's domicile.

So an alert goes to the bureau of ``merchant.op_region_code``. A deployment
that does not cover that region refers it (跨区域移送, 红盾云桥) unless it is
the platform's home bureau and is configured to keep such leads.

A deployment lists the 6-digit region codes (行政区划代码) it is responsible
for: ``xx0000`` covers a province, ``xxxx00`` a city, anything else one district.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.alerts.alert import Alert, AlertRoute

LOCAL = "local"
PLATFORM_HOME = "platform_home"
REFERRAL = "referral"

_CODE = re.compile(r"^[1-9][0-9]{5}$")

_ART10 = "《市场监督管理行政处罚程序规定》第十条"
_COMPLAINTS = "《市场监督管理投诉举报处理暂行办法》第十二条、第二十七条"


def region_prefix(code: str) -> str:
    """The prefix every code inside ``code``'s area starts with: ``33`` for 330000, ``3301`` for 330100."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise ValueError(f"not a 6-digit region code (行政区划代码): {code!r}")
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


@dataclass(frozen=True)
class Deployment:
    """The regions one hongdun deployment (one bureau) is responsible for."""

    region_codes: frozenset[str]  # any iterable is accepted and frozen
    name: str = ""  # the bureau, e.g. 杭州市市场监督管理局, shown in referral letters
    platform_homes: Mapping[str, str] = field(default_factory=dict)  # platform -> region code of its domicile
    keep_platform_leads: bool = False  # as the platform's home bureau, keep out-of-region leads (Art. 10)
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        codes = frozenset(self.region_codes)
        if not codes:
            raise ValueError("a deployment needs at least one region code")
        object.__setattr__(self, "region_codes", codes)
        object.__setattr__(self, "_prefixes", tuple(sorted({region_prefix(c) for c in codes})))
        for code in self.platform_homes.values():
            region_prefix(code)  # validates

    @classmethod
    def parse(cls, codes: str, name: str = "") -> "Deployment":
        """From a comma-separated list of region codes (the ``--regions`` option); ValueError if none or invalid."""
        return cls(frozenset(c.strip() for c in codes.split(",") if c.strip()), name=name)

    def covers(self, code: str) -> bool:
        """True if the region ``code`` lies inside this deployment's regions."""
        return any(code.startswith(p) for p in self._prefixes)


def route(alert: Alert, deployment: Deployment) -> AlertRoute:
    """Which bureau should act on ``alert``, with the legal ground in Chinese."""
    m = alert.merchant
    op = m.op_region_code or m.reg_region_code
    home = deployment.platform_homes.get(alert.platform)
    here = deployment.name or "本局"
    if deployment.covers(op):
        return AlertRoute(
            kind=LOCAL, region_code=op, merchant_region_code=op, platform_home_region_code=home,
            basis=f"经营者实际经营地（{op}）在{here}辖区内，依据{_ART10}及{_COMPLAINTS}，由{here}管辖。",
        )
    home_here = home is not None and deployment.covers(home)
    if home is not None and home_here and deployment.keep_platform_leads:
        return AlertRoute(
            kind=PLATFORM_HOME, region_code=home, merchant_region_code=op, platform_home_region_code=home,
            basis=(f"经营者实际经营地（{op}）不在{here}辖区，{here}为平台经营者住所地市场监督管理部门且先行发现违法线索，"
                   f"依据{_ART10}及{_COMPLAINTS}，也可以进行管辖。"),
        )
    note = f"{here}为平台经营者住所地，亦可依该条管辖；" if home_here else ""
    return AlertRoute(
        kind=REFERRAL, region_code=op, merchant_region_code=op, platform_home_region_code=home,
        basis=(f"经营者实际经营地（{op}）不在{here}辖区，依据{_ART10}（平台内经营者的违法行为由其实际经营地县级以上"
               f"市场监督管理部门管辖）及{_COMPLAINTS}，{note}建议将线索及证据移送{op}所在地市场监督管理部门（跨区域协查）。"),
    )
