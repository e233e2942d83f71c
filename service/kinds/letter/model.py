"""The payload of a submission letter (报送函): a 请示 or 报告 to the regulator in GB/T 9704-2012
form, optionally carrying a disclosure as its 附件.

Its elements follow GB/T 9704-2012 §7 (版头, 主体, 版记) and what the regulator asks of an
insurer's 请示 and 报告 (保监厅发〔2013〕20号): 发文字号, 签发人, 标题, 主送机关, 正文, 成文日期,
联系人 and 电话 in the 附注.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict, StringConstraints

from service.kinds.complaints.model import ComplaintPayload
from service.payload.schema import (
    Company,
    Date,
    Payload,
    SchemaVersion,
    ShortText,
    Text,
    _Model,
    house_style_field,
)

KIND_NAME: Literal["submission-letter"] = "submission-letter"
KIND_LABEL = "报送函（请示、报告）"

Phone = Annotated[str, StringConstraints(pattern=r"^[0-9][0-9 ()（）+-]{5,30}$")]


class DocumentNumber(_Model):
    """发文字号: 机关代字, 年份, 发文顺序号, printed 小康人寿发〔2024〕12号."""

    agency_code: ShortText = Field(title="机关代字", description="发文机关代字，如 小康人寿发")
    year: Annotated[int, Strict(), Field(ge=2000, le=2100)] = Field(
        title="年份", description="发文年份，须与成文日期同年"
    )
    number: Annotated[int, Strict(), Field(ge=1, le=99999)] = Field(
        title="发文顺序号", description="发文顺序号，不编虚位（不加前导0）"
    )


class Classification(_Model):
    """密级和保密期限 (§7.2.2)."""

    level: Literal["秘密", "机密", "绝密"] = Field(title="密级")
    term: ShortText | None = Field(None, title="保密期限", description="保密期限，如 1年")


class Note(_Model):
    """附注: the contact the regulator asks every 请示 and 报告 to name."""

    contact: ShortText = Field(title="联系人")
    phone: Phone = Field(title="电话", description="联系电话，如 010-12345678")


class LetterPayload(_Model):
    """One 请示 or 报告 to a regulator, in GB/T 9704-2012 form."""

    model_config = ConfigDict(title=KIND_LABEL)

    schema_version: SchemaVersion = Field(1, title="数据格式版本")
    kind: Literal["submission-letter"] = Field(title="报告类型")
    company: Company = Field(title="公司")
    genre: Literal["请示", "报告"] = Field(title="文种", description="请示 或 报告")
    issuer_mark: ShortText | None = Field(
        None,
        title="发文机关标志",
        description="发文机关标志，如 小康人寿保险有限责任公司文件；缺省为公司全称",
    )
    document_number: DocumentNumber = Field(title="发文字号")
    signers: list[ShortText] = Field(
        min_length=1, max_length=4, title="签发人", description="签发人姓名（上行文须标注）"
    )
    copy_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        None, title="份号", description="份号，6位阿拉伯数字；涉密公文须标注"
    )
    classification: Classification | None = Field(None, title="密级和保密期限")
    urgency: Literal["特急", "加急"] | None = Field(None, title="紧急程度")
    title: ShortText = Field(
        title="标题",
        description="发文机关+关于+事由+文种，如 小康人寿保险有限责任公司关于报送2023年度"
        "消费者权益保护工作重大信息披露的报告；标点只用书名号、顿号",
    )
    recipient: ShortText = Field(title="主送机关", description="主送机关，如 国家金融监督管理总局")
    body: list[Text] = Field(min_length=1, max_length=50, title="正文", description="正文各段")
    attachments: list[ShortText] = Field(
        default_factory=list, max_length=20, title="附件说明", description="附件名称，按顺序编号"
    )
    attachment: Payload | ComplaintPayload | None = Field(
        None, title="附件文档", description="作为附件随文印发的披露数据（年度或期间披露）"
    )
    signatory: ShortText | None = Field(
        None, title="署名", description="发文机关署名；缺省为公司全称"
    )
    date: Date = Field(title="成文日期")
    note: Note = Field(title="附注")
    copy_to: list[ShortText] = Field(default_factory=list, max_length=20, title="抄送机关")
    printed_by: ShortText | None = Field(None, title="印发机关")
    printed_date: Date | None = Field(None, title="印发日期")
    house_style: str = house_style_field()
