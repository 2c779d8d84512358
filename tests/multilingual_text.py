"""Real sentences in several languages, written for the tests (no download), and documents built from them.

Each language has sentences of everyday news/web prose. `documents(lang, n, seed)` joins a seeded
choice of sentences into paragraphs, so tests get as many distinct, natural documents as they need.
"""

from __future__ import annotations

import random

SENTENCES: dict[str, list[str]] = {
    "de": [
        "Die Stadtverwaltung hat am Montag neue Pläne für den Ausbau der Radwege vorgestellt.",
        "Nach Angaben der Polizei wurde bei dem Unfall auf der Autobahn niemand schwer verletzt.",
        "Im Herbst beginnt an vielen Schulen wieder der reguläre Unterricht in kleineren Klassen.",
        "Der Bäcker an der Ecke verkauft seit dreißig Jahren dasselbe Roggenbrot.",
        "Viele Mieter klagen über steigende Nebenkosten und fordern mehr Unterstützung vom Staat.",
        "Das Konzert im Stadtpark musste wegen eines Gewitters kurzfristig abgesagt werden.",
        "Die Forscher untersuchten, wie sich der Klimawandel auf die Wälder in Bayern auswirkt.",
        "Am Wochenende fahren wegen Bauarbeiten zwischen Köln und Düsseldorf keine Regionalzüge.",
        "Der Verein sucht noch freiwillige Helfer für das Sommerfest im Juli.",
        "Ich habe gestern endlich das Buch gelesen, das du mir empfohlen hast.",
        "Die Preise für Gemüse sind im Vergleich zum Vorjahr deutlich gestiegen.",
        "In der Nacht zum Dienstag hat es in weiten Teilen des Landes stark geregnet.",
        "Der Bürgermeister kündigte an, die Öffnungszeiten der Bibliothek zu verlängern.",
        "Wer ein neues Fahrrad kaufen möchte, sollte sich vorher gut beraten lassen.",
        "Die Mannschaft gewann das Spiel nach einem späten Tor in der Nachspielzeit.",
        "Auf dem Markt gibt es jeden Samstag frischen Käse aus der Region.",
        "Das Museum zeigt ab nächster Woche eine Ausstellung über die Geschichte der Stadt.",
        "Unsere Nachbarn haben im Garten einen kleinen Teich mit Fröschen angelegt.",
        "Die Gewerkschaft ruft für Donnerstag zu einem Warnstreik im Nahverkehr auf.",
        "Wegen der Hitze empfehlen die Ärzte, viel Wasser zu trinken und die Mittagssonne zu meiden.",
        "Der neue Tunnel soll die Fahrzeit zwischen den beiden Dörfern um zwanzig Minuten verkürzen.",
        "Sie arbeitet seit zehn Jahren als Krankenschwester in einem kleinen Krankenhaus.",
        "Die Firma plant, im kommenden Jahr zweihundert neue Arbeitsplätze zu schaffen.",
        "Bei der Wahl lag die Beteiligung höher als bei der letzten Abstimmung vor vier Jahren.",
        "Mein Großvater erzählt gern Geschichten aus der Zeit, als er noch zur See fuhr.",
        "Das Hotel am See ist im August fast vollständig ausgebucht.",
        "Kinder unter sechs Jahren dürfen den Zoo kostenlos besuchen.",
        "Die Regierung will die Förderung für Solaranlagen auf Privathäusern ausweiten.",
        "Nach dem Umbau bietet das Schwimmbad nun auch eine Sauna und einen Kinderbereich.",
        "Der Zug hatte wegen einer Signalstörung fast eine Stunde Verspätung.",
    ],
    "zh": [
        "市政府周一公布了扩建城市自行车道的新计划。",
        "据警方介绍，这起高速公路事故中没有人受重伤。",
        "秋天开学以后，很多学校将恢复小班授课。",
        "街角那家面包店三十年来一直卖同一种黑麦面包。",
        "许多租户抱怨水电费不断上涨，希望政府提供更多帮助。",
        "由于突然下起雷阵雨，公园里的音乐会只好临时取消。",
        "研究人员调查了气候变化对南方森林造成的影响。",
        "周末因为铁路施工，两座城市之间的区间列车全部停运。",
        "这个志愿者协会还在为七月的夏季活动招募帮手。",
        "我昨天终于读完了你推荐给我的那本小说。",
        "和去年相比，蔬菜的价格明显上涨了不少。",
        "星期二夜里，全国大部分地区都下了大雨。",
        "市长宣布图书馆的开放时间将会延长到晚上十点。",
        "想买新自行车的人最好事先多咨询一下专业人士。",
        "这支球队在补时阶段打进一球，最终赢得了比赛。",
        "每个星期六的集市上都能买到本地产的新鲜奶酪。",
        "博物馆从下周开始举办一个关于城市历史的展览。",
        "我们的邻居在花园里挖了一个小池塘，里面有青蛙。",
        "工会号召公交系统的员工在星期四举行警告性罢工。",
        "天气炎热，医生建议大家多喝水，中午尽量不要外出。",
        "新隧道建成后，两个村子之间的车程将缩短二十分钟。",
        "她在一家小医院当护士已经整整十年了。",
        "这家公司计划明年新增两百个工作岗位。",
        "这次选举的投票率比四年前那次要高一些。",
        "我爷爷喜欢讲他年轻时在海上当水手的故事。",
        "湖边的那家酒店八月份几乎已经全部订满。",
        "六岁以下的儿童可以免费参观动物园。",
        "政府打算扩大对居民屋顶太阳能板的补贴范围。",
        "游泳馆改建以后，新增了桑拿房和儿童游乐区。",
        "因为信号故障，这趟火车晚点了将近一个小时。",
    ],
    "fr": [
        "La mairie a présenté lundi un nouveau plan pour développer les pistes cyclables.",
        "Selon la police, personne n'a été grièvement blessé dans l'accident sur l'autoroute.",
        "Le boulanger du coin vend le même pain de seigle depuis trente ans.",
        "Le concert dans le parc a été annulé à cause d'un orage soudain.",
        "J'ai enfin lu hier le livre que tu m'avais conseillé.",
        "Les prix des légumes ont nettement augmenté par rapport à l'année dernière.",
        "Le musée propose dès la semaine prochaine une exposition sur l'histoire de la ville.",
        "Le train a eu près d'une heure de retard à cause d'une panne de signalisation.",
    ],
    "es": [
        "El ayuntamiento presentó el lunes un nuevo plan para ampliar los carriles bici.",
        "Según la policía, nadie resultó herido de gravedad en el accidente de la autopista.",
        "El panadero de la esquina vende el mismo pan de centeno desde hace treinta años.",
        "El concierto en el parque se canceló por una tormenta repentina.",
        "Ayer por fin terminé el libro que me recomendaste.",
        "Los precios de las verduras han subido mucho en comparación con el año pasado.",
        "El museo abre la semana que viene una exposición sobre la historia de la ciudad.",
        "El tren llegó con casi una hora de retraso por una avería en las señales.",
    ],
    "ja": [
        "市役所は月曜日、自転車道を拡張する新しい計画を発表した。",
        "警察によると、高速道路の事故で重傷者は出なかったという。",
        "角のパン屋は三十年間ずっと同じライ麦パンを売っている。",
        "急な雷雨のため、公園でのコンサートは中止になった。",
        "昨日、君が勧めてくれた本をやっと読み終えた。",
        "野菜の値段は去年に比べてかなり上がっている。",
        "博物館では来週から町の歴史に関する展示が始まる。",
        "信号の故障で電車が一時間近く遅れた。",
    ],
    "ru": [
        "В понедельник мэрия представила новый план расширения велосипедных дорожек.",
        "По данным полиции, в аварии на трассе никто серьёзно не пострадал.",
        "Пекарь на углу уже тридцать лет продаёт один и тот же ржаной хлеб.",
        "Концерт в парке отменили из-за внезапной грозы.",
        "Вчера я наконец дочитал книгу, которую ты мне посоветовал.",
        "Цены на овощи заметно выросли по сравнению с прошлым годом.",
        "Со следующей недели в музее откроется выставка об истории города.",
        "Поезд опоздал почти на час из-за неисправности сигнализации.",
    ],
    "th": [
        "เทศบาลได้เปิดเผยแผนใหม่ในการขยายเลนจักรยานเมื่อวันจันทร์",
        "ตำรวจระบุว่าไม่มีผู้ได้รับบาดเจ็บสาหัสจากอุบัติเหตุบนทางด่วน",
        "ร้านขนมปังตรงหัวมุมขายขนมปังข้าวไรย์แบบเดิมมาสามสิบปีแล้ว",
        "คอนเสิร์ตในสวนสาธารณะถูกยกเลิกเพราะพายุฝนฟ้าคะนอง",
        "เมื่อวานฉันอ่านหนังสือที่คุณแนะนำจบในที่สุด",
        "ราคาผักสูงขึ้นมากเมื่อเทียบกับปีที่แล้ว",
        "พิพิธภัณฑ์จะจัดนิทรรศการเกี่ยวกับประวัติศาสตร์ของเมืองตั้งแต่สัปดาห์หน้า",
        "รถไฟมาช้าเกือบหนึ่งชั่วโมงเพราะสัญญาณขัดข้อง",
    ],
    "ko": [
        "시청은 월요일에 자전거 도로를 확장하는 새로운 계획을 발표했다.",
        "경찰에 따르면 고속도로 사고로 크게 다친 사람은 없었다.",
        "모퉁이 빵집은 삼십 년 동안 같은 호밀빵을 팔고 있다.",
        "갑작스러운 뇌우 때문에 공원 콘서트가 취소되었다.",
        "어제 네가 추천해 준 책을 드디어 다 읽었다.",
        "채소 가격이 작년에 비해 크게 올랐다.",
        "박물관은 다음 주부터 도시의 역사에 관한 전시를 연다.",
        "신호 고장으로 기차가 거의 한 시간 늦었다.",
    ],
}


# Assistant-style German written for the calibration test: long, even, abstract sentences with
# connectives and commas, the habits a German style profile should learn to tell from the news prose above.
GERMAN_ASSISTANT = [
    "Zusammenfassend lässt sich sagen, dass die nachhaltige Entwicklung urbaner Räume eine ganzheitliche Betrachtung erfordert.",
    "Darüber hinaus ist es wichtig zu beachten, dass verschiedene Faktoren eine entscheidende Rolle bei dieser Entwicklung spielen.",
    "Insgesamt zeigt sich, dass eine umfassende Strategie notwendig ist, um die vielfältigen Herausforderungen erfolgreich zu bewältigen.",
    "Es ist von zentraler Bedeutung, die Bedürfnisse aller Beteiligten angemessen zu berücksichtigen und gemeinsam Lösungen zu finden.",
    "Dabei spielt insbesondere die Zusammenarbeit zwischen unterschiedlichen Akteuren eine wesentliche und nicht zu unterschätzende Rolle.",
    "Letztendlich hängt der langfristige Erfolg solcher Maßnahmen maßgeblich von einer sorgfältigen Planung und Umsetzung ab.",
    "Ferner sollte berücksichtigt werden, dass innovative Ansätze neue Möglichkeiten für eine positive Veränderung eröffnen können.",
    "In diesem Zusammenhang ist es entscheidend, transparente Prozesse zu etablieren und das Vertrauen der Bevölkerung zu stärken.",
    "Nicht zuletzt trägt eine offene Kommunikation wesentlich dazu bei, mögliche Missverständnisse frühzeitig zu vermeiden.",
    "Somit wird deutlich, dass ein ausgewogenes Verhältnis zwischen wirtschaftlichen, sozialen und ökologischen Zielen angestrebt werden sollte.",
    "Es lässt sich feststellen, dass die Digitalisierung zahlreiche Chancen bietet, jedoch auch gewisse Risiken mit sich bringt.",
    "Vor diesem Hintergrund erscheint es sinnvoll, bestehende Strukturen kritisch zu hinterfragen und gezielt weiterzuentwickeln.",
    "Abschließend kann festgehalten werden, dass kontinuierliche Verbesserungen einen wertvollen Beitrag zur Lebensqualität leisten.",
    "Außerdem ist hervorzuheben, dass Bildung und Weiterbildung eine grundlegende Voraussetzung für gesellschaftliche Teilhabe darstellen.",
    "Gleichzeitig ist es unerlässlich, die Auswirkungen politischer Entscheidungen auf unterschiedliche Bevölkerungsgruppen sorgfältig abzuwägen.",
    "Folglich bedarf es einer engen Abstimmung zwischen Wissenschaft, Politik und Zivilgesellschaft, um nachhaltige Ergebnisse zu erzielen.",
    "Im Hinblick auf zukünftige Entwicklungen ist es ratsam, flexible und anpassungsfähige Rahmenbedingungen zu schaffen.",
    "Des Weiteren leisten ehrenamtliche Initiativen einen bedeutenden Beitrag zum gesellschaftlichen Zusammenhalt und zur Gemeinschaft.",
    "Diese Aspekte verdeutlichen, wie vielschichtig und komplex die Thematik insgesamt betrachtet tatsächlich ist.",
    "Es bleibt festzuhalten, dass eine verantwortungsvolle Herangehensweise langfristig allen Beteiligten zugutekommt.",
]
POOLS = {**SENTENCES, "de_assistant": GERMAN_ASSISTANT}


def documents(lang: str, n: int, seed: int = 0, sentences: int = 4) -> list[str]:
    """`n` paragraphs of `sentences` sentences each, drawn without replacement inside a paragraph."""
    pool = POOLS[lang]
    rng = random.Random(f"{lang}:{seed}")
    sep = "" if lang in ("zh", "ja") else " "
    if lang == "de_assistant":
        sentences = max(sentences, 5)
    return [sep.join(rng.sample(pool, min(sentences, len(pool)))) for _ in range(n)]
