"""Units: the province, its communes and wards, and its agencies, as a hierarchy."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quiz_engine.extensions import db
from quiz_engine.models.base import TimestampMixin, enum_column


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    WARD = "ward"
    AGENCY = "agency"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    OTHER = "other"


class Unit(TimestampMixin, db.Model):
    """A unit contestants belong to; ``headcount`` is the denominator of participation rates."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, name="unit_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    headcount: Mapped[int | None] = mapped_column(Integer)
    #: Demo data: shown with a "dữ liệu mẫu" mark so nobody mistakes it for an official list.
    is_sample: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name!r}>"
