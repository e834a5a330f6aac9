"""Cases that have every printout, for the printout tests: one mediated to an agreement and visited, one refused,
one referred to the police. Back-dated (2023) with every typed date on or before the step that records it."""

from __future__ import annotations

from dataclasses import dataclass

from factories import REFER_TO_POLICE, Town
from report_cases import agreement, at, enter
from sqlalchemy import Engine

FULL_ID, FULL_PHONE = "11010519491231002X", "13812345678"
PARTIES = [
    {
        "role": "applicant",
        "name": "张三",
        "phone": FULL_PHONE,
        "id_number": FULL_ID,
        "address": "青龙镇龙井村三组18号",
    },
    {"role": "respondent", "name": "李四", "phone": "13987654321", "id_number": "510101198001011237"},
]
SESSION = (
    "调解员分别听取双方意见。张三称通道原宽两米，李四砌墙后只余一米；李四称墙基在自家宅基地内。\n"
    "调解员查看现场并释明《民法典》相邻关系的规定，双方同意各让半米。"
)


@dataclass
class PrintCases:
    mediated: int  # 受理登记表, 权利义务告知书, 调解笔录 ×2, 调解协议书, 回访记录
    refused: int  # 受理登记表 (不予受理 ticked), 不予受理告知书
    referred: int  # 受理登记表, 权利义务告知书, 移送函


def print_cases(engine: Engine, town: Town) -> PrintCases:
    mediator = town["mediator"].id
    mediated = enter(
        engine,
        town,
        at(2023, 9, 20),
        [
            ("assign", {"mediator_id": mediator}),
            ("accept", {"rights_notified": True}),
            ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
            (
                "record_session",
                {
                    "session_date": "2023-09-24",
                    "location": "清风茶室",
                    "participants": "张三、李四、村调解员王芳",
                    "content": SESSION,
                },
            ),
            ("record_session", {"session_date": "2023-09-25", "location": "村委会", "content": "双方确认各让半米。"}),
            agreement("2023-09-26", "1200.50", performance_deadline="2023-10-10"),
            ("start_follow_up", {}),
            (
                "record_visit",
                {"visited_on": "2023-09-28", "performed": "full", "satisfaction": "satisfied", "hidden_risk": "无"},
            ),
        ],
        parties=PARTIES,
    )
    refused = enter(engine, town, at(2023, 9, 21), [("reject", {"reason": "该纠纷人民法院已经受理"})], parties=PARTIES)
    referred = enter(
        engine,
        town,
        at(2023, 9, 22),
        [("accept", {"rights_notified": True}), ("refer", REFER_TO_POLICE)],
        parties=PARTIES,
    )
    return PrintCases(mediated, refused, referred)


# form → the case that has it
def cases_by_form(cases: PrintCases) -> dict[str, int]:
    return {
        "registration": cases.mediated,
        "rights": cases.mediated,
        "record": cases.mediated,
        "agreement": cases.mediated,
        "visit": cases.mediated,
        "refusal": cases.refused,
        "referral": cases.referred,
    }
