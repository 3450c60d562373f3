"""reply: quote headers and phone footers of the mail clients customers write with, in many
languages (development cases of issue 17; the held-out set lives in tests/mailset).

Every case is written for this file: the customer text, names, addresses (example.com/.org) and
dates are ours; the layout (where a client puts the date, the address, the verb, how it wraps,
which labels its header block has, its footer wording) is the named client's, as its localised
strings and public reply-parser fixture sets show it. `text` is what the customer wrote now,
`signature` (when given) the footer split from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from daemon.mail.reply import extract_reply

ADDR = "Example Support <support@example.com>"
OLD = "> Your order 1042 has shipped.\n> Kind regards, the support team\n"


@dataclass(frozen=True)
class Case:
    language: str
    layout: str
    body: str
    text: str
    signature: str | None = None

    @property
    def id(self) -> str:
        return f"{self.language}-{self.layout}"


def quoted(language: str, layout: str, text: str, header: str) -> Case:
    """The customer's text, a blank line, the client's attribution, a blank line, `>` lines."""
    return Case(language, layout, f"{text}\n\n{header}\n\n{OLD}", text)


def unmarked(language: str, layout: str, text: str, header: str) -> Case:
    """Outlook-style: the header and the old message follow without `>` marks."""
    body = f"{text}\n\n{header}\n\nYour order 1042 has shipped.\nThe support team\n"
    return Case(language, layout, body, text)


def footer(language: str, layout: str, text: str, line: str, sig: str | None = None) -> Case:
    """The customer's text and the phone/app footer the client appends."""
    return Case(language, layout, f"{text}\n\n{line}\n", text, sig if sig is not None else line)


ATTRIBUTIONS = [
    quoted(
        "en",
        "Gmail web",
        "Where is my parcel? It has been a week.",
        f"On Tue, Mar 5, 2024 at 10:14 AM {ADDR} wrote:",
    ),
    quoted(
        "en",
        "Gmail web, wrapped at 78 columns",
        "The parcel arrived damaged.",
        "On Tue, Mar 5, 2024 at 10:14 AM Example Shop Customer Care Team <\n"
        "support@example.com> wrote:",
    ),
    quoted(
        "en",
        "Gmail, attribution wrapped in three",
        "Can you resend the invoice?",
        "On Tue, Mar 5, 2024 at 10:14 AM\nExample Shop Customer Care Team\n"
        "<support@example.com> wrote:",
    ),
    quoted(
        "en",
        "Apple Mail (iOS)",
        "I still have not received a refund.",
        f"On 5 Mar 2024, at 10:14, {ADDR} wrote:",
    ),
    quoted(
        "en",
        "Thunderbird",
        "The link in your mail does not open.",
        "On 05/03/2024 10:14, Example Support wrote:",
    ),
    Case(
        "en",
        "Yahoo Mail web (no > marks)",
        "I would like to cancel my subscription.\n\n\n\n    On Tuesday, March 5, 2024, "
        "10:14:33 AM GMT+1, Example Support <support@example.com> wrote:\n\n\nYour order 1042 "
        "has shipped.\n",
        "I would like to cancel my subscription.",
    ),
    quoted(
        "en",
        "Gmail (old), date first without a verb",
        "Thank you, that solved it.",
        "2016-03-03 17:21 GMT+01:00 Example Support <support@example.com>:",
    ),
    Case(
        "en",
        "Polymail, address broken over lines",
        "Please call me back.\n\nOn Tue, Apr 11, 2017 at 10:07 PM Example Support\n\n<\n"
        "mailto:Example Support <support@example.com>\n> wrote:\nYour order has shipped.\n",
        "Please call me back.",
    ),
    Case(
        "en",
        "attribution right under the text (no blank line)",
        "That works now.\nOn Tue, Mar 5, 2024 at 10:14 AM Example Support "
        "<support@example.com> wrote:\n> old\n> text\n",
        "That works now.",
    ),
    quoted(
        "de",
        "Gmail web (2017+), name first",
        "Wo bleibt meine Bestellung?",
        f"{ADDR} schrieb am Di., 5. März 2024, 10:14:",
    ),
    quoted(
        "de",
        "Gmail web, wrapped after the day",
        "Das Paket ist beschädigt angekommen.",
        "Hans Müller <hans.mueller@example.de> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:",
    ),
    quoted(
        "de",
        "Gmail web (before 2017)",
        "Bitte schicken Sie mir die Rechnung erneut.",
        f"Am Di., 5. März 2024 um 10:14 Uhr schrieb {ADDR}:",
    ),
    quoted(
        "de",
        "Thunderbird",
        "Der Link funktioniert leider nicht.",
        "Am 05.03.24 um 10:14 schrieb Example Support:",
    ),
    quoted(
        "de",
        "Apple Mail",
        "Ich möchte mein Abo kündigen.",
        f"Am 05.03.2024 um 10:14 schrieb {ADDR}:",
    ),
    quoted(
        "fr",
        "Gmail web",
        "Mon colis n'est toujours pas arrivé.",
        f"Le mar. 5 mars 2024 à 10:14, {ADDR} a écrit :",
    ),
    quoted(
        "fr",
        "Apple Mail",
        "Je voudrais annuler ma commande.",
        f"Le 5 mars 2024 à 10:14, {ADDR} a écrit :",
    ),
    quoted(
        "fr",
        "Thunderbird",
        "Le lien ne fonctionne pas.",
        "Le 05/03/2024 à 10:14, Example Support a écrit :",
    ),
    quoted(
        "es",
        "Gmail web",
        "Mi pedido llegó roto.",
        "El mar, 5 mar 2024 a las 10:14, Example Support (<support@example.com>) escribió:",
    ),
    quoted(
        "es",
        "Apple Mail",
        "No he recibido el reembolso.",
        f"El 5 mar 2024, a las 10:14, {ADDR} escribió:",
    ),
    quoted(
        "it",
        "Gmail web",
        "Il pacco non è ancora arrivato.",
        f"Il giorno mar 5 mar 2024 alle ore 10:14 {ADDR} ha scritto:",
    ),
    quoted(
        "pt",
        "Gmail web",
        "A minha encomenda chegou danificada.",
        f"Em ter., 5 de mar. de 2024 às 10:14, {ADDR} escreveu:",
    ),
    quoted(
        "nl",
        "Gmail web",
        "Mijn pakket is nog niet aangekomen.",
        f"Op di 5 mrt 2024 om 10:14 schreef {ADDR}:",
    ),
    quoted(
        "nl",
        "Apple Mail",
        "Kunt u de factuur opnieuw sturen?",
        f"Op 5 mrt. 2024 om 10:14 heeft {ADDR} het volgende geschreven:",
    ),
    quoted(
        "sv",
        "Gmail web",
        "Paketet har inte kommit fram.",
        f"Den tis 5 mars 2024 kl 10:14 skrev {ADDR}:",
    ),
    quoted(
        "da",
        "Gmail web",
        "Pakken er ikke kommet endnu.",
        f"Den tir. 5. mar. 2024 kl. 10.14 skrev {ADDR}:",
    ),
    quoted(
        "no",
        "Gmail web",
        "Pakken har ikke kommet ennå.",
        f"tir. 5. mar. 2024 kl. 10:14 skrev {ADDR}:",
    ),
    quoted(
        "fi",
        "Gmail web",
        "Pakettini ei ole vieläkään saapunut.",
        "ti 5. maalisk. 2024 klo 10.14 Example Support (support@example.com) kirjoitti:",
    ),
    quoted(
        "pl",
        "Gmail web",
        "Moja paczka jeszcze nie dotarła.",
        f"wt., 5 mar 2024 o 10:14 {ADDR} napisał(a):",
    ),
    quoted(
        "pl",
        "Thunderbird",
        "Link w wiadomości nie działa.",
        "W dniu 5.03.2024 o 10:14, Example Support pisze:",
    ),
    quoted(
        "cs",
        "Gmail web",
        "Balík stále nedorazil.",
        f"út 5. 3. 2024 v 10:14 odesílatel {ADDR} napsal:",
    ),
    quoted(
        "sk",
        "Gmail web",
        "Balík ešte neprišiel.",
        f"ut 5. 3. 2024 o 10:14 {ADDR} napísal(a):",
    ),
    quoted(
        "hu",
        "Gmail web",
        "A csomagom még nem érkezett meg.",
        f"{ADDR} ezt írta (időpont: 2024. márc. 5., K, 10:14):",
    ),
    quoted(
        "ro",
        "Gmail web",
        "Coletul meu nu a ajuns încă.",
        f"Pe mar., 5 mar. 2024 la 10:14, {ADDR} a scris:",
    ),
    quoted(
        "ru",
        "Gmail web (no verb)",
        "Моя посылка до сих пор не пришла.",
        f"вт, 5 мар. 2024 г. в 10:14, {ADDR}:",
    ),
    quoted(
        "ru",
        "Gmail web (before 2017), wrapped before the verb",
        "Посылка пришла повреждённой.",
        f"5 марта 2024 г., 10:14 пользователь {ADDR}\nнаписал:",
    ),
    quoted(
        "ru",
        "Mail.ru web",
        "Прошу вернуть деньги за заказ.",
        f"Вторник, 5 марта 2024, 10:14 +03:00 от {ADDR}:",
    ),
    quoted(
        "ru",
        "Yandex Mail web",
        "Ссылка в письме не открывается.",
        '05.03.2024, 10:14, "Example Support" <support@example.com>:',
    ),
    quoted(
        "ru",
        "Thunderbird",
        "Хочу отменить подписку.",
        "05.03.2024 10:14, Example Support пишет:",
    ),
    quoted(
        "uk",
        "Gmail web",
        "Моя посилка досі не прийшла.",
        f"вт, 5 бер. 2024 о 10:14 {ADDR} пише:",
    ),
    quoted(
        "bg",
        "Gmail web",
        "Пратката ми още не е пристигнала.",
        f"вт, 5.03.2024 г. в 10:14 ч. {ADDR} написа:",
    ),
    quoted(
        "el",
        "Gmail web",
        "Το δέμα μου δεν έχει φτάσει ακόμα.",
        f"Στις Τρί 5 Μαρ 2024 στις 10:14 π.μ., ο/η {ADDR} έγραψε:",
    ),
    quoted(
        "tr",
        "Gmail web",
        "Kargom hâlâ gelmedi.",
        f"{ADDR}, 5 Mar 2024 Sal, 10:14 tarihinde şunu yazdı:",
    ),
    quoted(
        "ar",
        "Gmail web",
        "لم يصل طردي حتى الآن.",
        f"في الثلاثاء، 5 مارس 2024 في 10:14 ص، كتب {ADDR}:",
    ),
    quoted(
        "he",
        "Gmail web (direction marks)",
        "החבילה שלי עדיין לא הגיעה.",
        "\u202bבתאריך יום ג׳, 5 במרץ 2024 ב-10:14 מאת \u202aExample Support\u202c\u200f "
        "<\u202asupport@example.com\u202c\u200f>:\u202c",
    ),
    quoted(
        "fa",
        "Gmail web (Persian digits)",
        "بسته من هنوز نرسیده است.",
        "\u202bدر تاریخ سه‌شنبه ۵ مارس ۲۰۲۴،\u200f ۱۰:۱۴ Example Support "
        "<support@example.com> نوشت:\u202c",
    ),
    quoted(
        "ja",
        "Gmail web",
        "荷物がまだ届いていません。",
        f"2024年3月5日(火) 10:14 {ADDR}:",
    ),
    quoted(
        "zh",
        "Gmail web",
        "我的包裹还没有到。",
        f"{ADDR} 于2024年3月5日周二 上午10:14写道：",
    ),
    quoted(
        "ko",
        "Gmail web",
        "택배가 아직 도착하지 않았습니다.",
        f"2024년 3월 5일 (화) 오전 10:14, {ADDR}님이 작성:",
    ),
    quoted(
        "vi",
        "Gmail web",
        "Gói hàng của tôi vẫn chưa đến.",
        f"Vào Th 3, 5 thg 3, 2024 vào lúc 10:14 {ADDR} đã viết:",
    ),
    quoted(
        "id",
        "Gmail web",
        "Paket saya belum sampai.",
        f"Pada tanggal Sel, 5 Mar 2024 pukul 10.14 {ADDR} menulis:",
    ),
    quoted(
        "hr",
        "Gmail web",
        "Moj paket još nije stigao.",
        f"uto, 5. ožu 2024. u 10:14 {ADDR} napisao je:",
    ),
    quoted(
        "lt",
        "Gmail web",
        "Mano siunta dar neatkeliavo.",
        f"2024 m. kovo 5 d., antr., 10:14 {ADDR} rašė:",
    ),
    quoted(
        "ca",
        "Gmail web",
        "El meu paquet encara no ha arribat.",
        "El dt., 5 de març 2024 a les 10:14, Example Support (<support@example.com>) va escriure:",
    ),
    quoted(
        "et",
        "Gmail web",
        "Minu pakk pole ikka veel kohale jõudnud.",
        f"T, 5. märts 2024 kell 10:14 kirjutas {ADDR}:",
    ),
]

HEADER_BLOCKS = [
    unmarked(
        "en",
        "Outlook desktop, rule line",
        "Please send a replacement.",
        "________________________________\nFrom: Example Support <support@example.com>\n"
        "Sent: Tuesday, March 5, 2024 10:14 AM\nTo: Anna Lee <anna@example.org>\n"
        "Subject: RE: Order 1042",
    ),
    unmarked(
        "en",
        "Outlook web, HTML-to-text bold labels",
        "The replacement is also broken.",
        "*From:* Example Support <support@example.com>\n*Sent:* Tuesday, March 5, 2024 10:14 AM"
        "\n*To:* Anna Lee <anna@example.org>\n*Subject:* RE: Order 1042",
    ),
    unmarked(
        "en",
        "Outlook, decorated separator after HTML-to-text",
        "I need the invoice for my company.",
        "*-------- Original Message --------*\nSubject: Order 1042\nFrom: Example Support "
        "<support@example.com>\nDate: 05.03.2024 10:14",
    ),
    unmarked(
        "en",
        "Outlook desktop, Exchange sender without address",
        "Thanks for the quick answer, one more question: is it waterproof?",
        "From: Example Support\nSent: Tuesday, March 5, 2024 10:14 AM\nTo: Anna Lee\n"
        "Subject: RE: Order 1042",
    ),
    unmarked(
        "de",
        "Outlook desktop",
        "Bitte senden Sie mir einen Ersatz.",
        "Von: Example Support <support@example.com>\nGesendet: Dienstag, 5. März 2024 10:14\n"
        "An: Anna Lee <anna@example.org>\nBetreff: AW: Bestellung 1042",
    ),
    unmarked(
        "de",
        "Outlook, Ursprüngliche Nachricht",
        "Der Ersatz ist auch defekt.",
        "-----Ursprüngliche Nachricht-----\nVon: Example Support [mailto:support@example.com]\n"
        "Gesendet: Dienstag, 5. März 2024 10:14\nAn: Anna Lee\nBetreff: Bestellung 1042",
    ),
    unmarked(
        "de",
        "GMX / web.de web mail",
        "Ich warte immer noch auf die Gutschrift.",
        'Gesendet: Dienstag, 05. März 2024 um 10:14 Uhr\nVon: "Example Support" '
        "<support@example.com>\nAn: anna@example.org\nBetreff: Re: Bestellung 1042",
    ),
    unmarked(
        "fr",
        "Outlook desktop",
        "Merci de m'envoyer un remplacement rapidement.",
        "De : Example Support <support@example.com>\nEnvoyé : mardi 5 mars 2024 10:14\n"
        "À : Anna Lee <anna@example.org>\nObjet : RE: Commande 1042",
    ),
    unmarked(
        "es",
        "Outlook desktop",
        "Necesito la factura a nombre de mi empresa.",
        "De: Example Support <support@example.com>\nEnviado: martes, 5 de marzo de 2024 10:14\n"
        "Para: Ana López <ana@example.org>\nAsunto: RE: Pedido 1042",
    ),
    unmarked(
        "it",
        "Outlook desktop",
        "Vorrei restituire il prodotto.",
        "Da: Example Support <support@example.com>\nInviato: martedì 5 marzo 2024 10:14\n"
        "A: Anna Rossi <anna@example.org>\nOggetto: R: Ordine 1042",
    ),
    unmarked(
        "nl",
        "Outlook desktop",
        "Ik wil het product terugsturen.",
        "Van: Example Support <support@example.com>\nVerzonden: dinsdag 5 maart 2024 10:14\n"
        "Aan: Anna de Vries <anna@example.org>\nOnderwerp: RE: Bestelling 1042",
    ),
    unmarked(
        "pl",
        "Outlook desktop",
        "Chcę zwrócić produkt.",
        "Od: Example Support <support@example.com>\nWysłano: wtorek, 5 marca 2024 10:14\n"
        "Do: Anna Nowak <anna@example.org>\nTemat: RE: Zamówienie 1042",
    ),
    unmarked(
        "ru",
        "Outlook desktop",
        "Хочу вернуть товар.",
        "От: Example Support <support@example.com>\nОтправлено: 5 марта 2024 г. 10:14\n"
        "Кому: Анна Иванова <anna@example.org>\nТема: RE: Заказ 1042",
    ),
    unmarked(
        "pt",
        "Outlook desktop",
        "Quero devolver o produto.",
        "De: Example Support <support@example.com>\nEnviada em: terça-feira, 5 de março de "
        "2024 10:14\nPara: Ana Silva <ana@example.org>\nAssunto: RE: Pedido 1042",
    ),
    unmarked(
        "sv",
        "Outlook desktop",
        "Jag vill returnera produkten.",
        "Från: Example Support <support@example.com>\nSkickat: den 5 mars 2024 10:14\n"
        "Till: Anna Svensson <anna@example.org>\nÄmne: SV: Beställning 1042",
    ),
    unmarked(
        "tr",
        "Outlook desktop",
        "Ürünü iade etmek istiyorum.",
        "Kimden: Example Support <support@example.com>\nGönderildi: 5 Mart 2024 Salı 10:14\n"
        "Kime: Ayşe Yılmaz <ayse@example.org>\nKonu: YNT: Sipariş 1042",
    ),
    unmarked(
        "cs",
        "Outlook desktop",
        "Chci vrátit zboží.",
        "Od: Example Support <support@example.com>\nOdesláno: úterý 5. března 2024 10:14\n"
        "Komu: Anna Nováková <anna@example.org>\nPředmět: RE: Objednávka 1042",
    ),
    unmarked(
        "ja",
        "Outlook desktop",
        "商品を返品したいです。",
        "差出人: Example Support <support@example.com>\n送信日時: 2024年3月5日 10:14\n"
        "宛先: Anna <anna@example.org>\n件名: RE: 注文 1042",
    ),
    unmarked(
        "zh",
        "Outlook desktop",
        "我想退货。",
        "发件人: Example Support <support@example.com>\n发送时间: 2024年3月5日 10:14\n"
        "收件人: Anna <anna@example.org>\n主题: 回复: 订单 1042",
    ),
]

FOOTERS = [
    footer(
        "en",
        "Outlook Mobile (link kept by HTML-to-text)",
        "Where is my refund?",
        "Sent from Outlook Mobile<https://aka.ms/abc123>",
    ),
    footer(
        "en",
        "Outlook for iOS",
        "The app crashes on login.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
    ),
    footer(
        "en", "Samsung Email", "The screen is cracked.", "Sent from my Samsung Galaxy smartphone."
    ),
    footer(
        "en", "Yahoo Mail for Android", "Please cancel my order.", "Sent from Yahoo Mail on Android"
    ),
    footer(
        "en",
        "K-9 Mail (English)",
        "The charger does not fit.",
        "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
    ),
    footer("de", "iOS Mail", "Die Lieferung fehlt noch.", "Von meinem iPhone gesendet"),
    footer("de", "Samsung Email", "Das Display ist gesprungen.", "Von meinem Mobilgerät gesendet"),
    footer(
        "de",
        "K-9 Mail",
        "Das Ladegerät passt nicht.",
        "Diese Nachricht wurde von meinem Android-Mobiltelefon mit K-9 Mail gesendet.",
    ),
    footer("fr", "iOS Mail", "Le colis est vide.", "Envoyé depuis mon iPhone"),
    footer("fr", "Samsung Email", "L'écran est fissuré.", "Envoyé de mon appareil Galaxy"),
    footer("es", "iOS Mail", "El paquete llegó vacío.", "Enviado desde mi iPhone"),
    footer("it", "iOS Mail", "Il pacco era vuoto.", "Inviato da iPhone"),
    footer("pt", "iOS Mail", "A caixa chegou vazia.", "Enviado do meu iPhone"),
    footer("nl", "iOS Mail", "Het pakket was leeg.", "Verzonden vanaf mijn iPhone"),
    footer("sv", "iOS Mail", "Paketet var tomt.", "Skickat från min iPhone"),
    footer("da", "iOS Mail", "Pakken var tom.", "Sendt fra min iPhone"),
    footer("pl", "iOS Mail", "Paczka była pusta.", "Wysłane z iPhone'a"),
    footer("ru", "iOS Mail", "Коробка пришла пустой.", "Отправлено с iPhone"),
    footer(
        "ru", "Mail.ru for Android", "Коробка пришла пустой.", "Отправлено из Mail.ru для Android"
    ),
    footer("uk", "iOS Mail", "Коробка прийшла порожньою.", "Надіслано з iPhone"),
    footer("cs", "iOS Mail", "Krabice byla prázdná.", "Odesláno z iPhonu"),
    footer("tr", "iOS Mail", "Kutu boş geldi.", "iPhone'umdan gönderildi"),
    footer("ja", "iOS Mail", "箱が空でした。", "iPhoneから送信"),
    footer("zh", "iOS Mail", "盒子是空的。", "发自我的iPhone"),
    footer("ko", "iOS Mail", "상자가 비어 있었습니다.", "내 iPhone에서 보냄"),
    footer("hu", "iOS Mail", "A doboz üres volt.", "iPhone-ról küldve"),
]

MORE_CLIENTS = [
    unmarked(
        "en",
        "Samsung Email",
        "The tracking number does not work.",
        "-------- Original message --------\nFrom: Example Support <support@example.com> \n"
        "Date: 05/03/2024 10:14 (GMT+01:00) \nTo: anna@example.org \nSubject: Re: Order 1042 ",
    ),
    unmarked(
        "de",
        "Samsung Email",
        "Die Sendungsnummer funktioniert nicht.",
        "-------- Ursprüngliche Nachricht --------\nVon: Example Support <support@example.com> "
        "\nDatum: 05.03.24 10:14 (GMT+01:00) \nAn: anna@example.org \nBetreff: Re: Bestellung ",
    ),
    unmarked(
        "fr",
        "Samsung Email",
        "Le numéro de suivi ne fonctionne pas.",
        "-------- Message d'origine --------\nDe : Example Support <support@example.com> \n"
        "Date : 05/03/2024 10:14 (GMT+01:00) \nÀ : anna@example.org \nObjet : Re: Commande ",
    ),
    unmarked(
        "de",
        "Yahoo Mail web",
        "Ich habe das Geld noch nicht zurückbekommen.",
        "Am Dienstag, 5. März 2024, 10:14:33 MEZ hat Example Support <support@example.com> "
        "Folgendes geschrieben:",
    ),
    unmarked(
        "fr",
        "Yahoo Mail web",
        "Je n'ai toujours pas été remboursée.",
        "Le mardi 5 mars 2024 à 10:14:33 UTC+1, Example Support <support@example.com> a écrit :",
    ),
    unmarked(
        "es",
        "Yahoo Mail web",
        "Todavía no he recibido el reembolso.",
        "El martes, 5 de marzo de 2024, 10:14:33 CET, Example Support <support@example.com> "
        "escribió:",
    ),
    quoted(
        "de",
        "iOS Mail",
        "Die Rechnung fehlt im Paket.",
        f"> Am 05.03.2024 um 10:14 schrieb {ADDR}:\n> ",
    ),
    quoted(
        "en",
        "Gmail, verb wrapped onto its own line",
        "I attached a photo of the label.",
        "On Tue, Mar 5, 2024 at 10:14 AM Example Support <support@example.com>\nwrote:",
    ),
    footer(
        "fr",
        "Outlook for iOS",
        "L'application plante.",
        "Obtenir Outlook pour iOS<https://aka.ms/o0ukef>",
    ),
    footer(
        "de",
        "Outlook for Android",
        "Die App stürzt ab.",
        "Outlook für Android herunterladen<https://aka.ms/ghei36>",
    ),
    footer(
        "de", "Samsung Email", "Bitte um Rückruf.", "Gesendet von meinem Samsung Galaxy Smartphone."
    ),
    footer("en", "Huawei Email", "Please call me back.", "Sent from my HUAWEI P30 Pro"),
    footer(
        "cs",
        "K-9 Mail, after a '-- ' delimiter",
        "Kdy bude zboží znovu skladem?",
        "-- \nOdesláno z mého telefonu Android pomocí K-9 Mail. Omluvte stručnost.",
    ),
    footer(
        "ru",
        "K-9 Mail, after a '-- ' delimiter",
        "Когда товар снова появится?",
        "-- \nОтправлено с моего Android-устройства с помощью K-9 Mail. Простите за краткость.",
    ),
    footer(
        "tr",
        "Outlook for Android",
        "Sipariş nerede?",
        "Android için Outlook'u edinin<https://aka.ms/abc123>",
    ),
    footer(
        "ru",
        "Outlook for Android",
        "Где мой заказ?",
        "Получить Outlook для Android<https://aka.ms/abc123>",
    ),
]

SIGN_OFF_CASES = [
    footer("cs", "sign-off and name", "Prosím o vrácení peněz.", "S pozdravem\nJan Novák"),
    footer("hu", "sign-off and name", "Kérem a pénzem vissza.", "Üdvözlettel,\nKiss Anna"),
    footer("tr", "sign-off and name", "Paramı geri istiyorum.", "Saygılarımla,\nAyşe Yılmaz"),
    footer("fi", "sign-off and name", "Haluan rahani takaisin.", "Ystävällisin terveisin\nMatti"),
    footer("ro", "sign-off and name", "Vreau banii înapoi.", "Cu stimă,\nAna Popescu"),
    footer("uk", "sign-off and name", "Прошу повернути гроші.", "З повагою,\nОлена"),
    footer("el", "sign-off and name", "Θέλω επιστροφή χρημάτων.", "Με εκτίμηση,\nΜαρία"),
    footer("sk", "sign-off and name", "Prosím o vrátenie peňazí.", "S pozdravom\nJana"),
    footer("hr", "sign-off and name", "Molim povrat novca.", "Lijep pozdrav,\nIvana"),
    footer("ja", "sign-off and name", "返金をお願いします。", "よろしくお願いします。\n山田"),
]

KEPT = [
    Case(
        "en",
        "a date and a colon in the customer's own text",
        "My order from 5 March 2024 at 10:14:\nthe parcel never arrived.",
        "My order from 5 March 2024 at 10:14:\nthe parcel never arrived.",
    ),
    Case(
        "en",
        "a sentence that starts like a footer",
        "Sent from my office yesterday, the form failed again.",
        "Sent from my office yesterday, the form failed again.",
    ),
    Case(
        "de",
        "an address and a colon in the customer's text",
        "Meine neue Adresse für die Rechnung lautet anna@example.org:\nbitte ändern.",
        "Meine neue Adresse für die Rechnung lautet anna@example.org:\nbitte ändern.",
    ),
    Case(
        "de",
        "a lead word, a date and a time in the customer's list",
        "Am 5. März 2024 um 10:14 habe ich bestellt:\n- 2 x Wanderschuhe\n- 1 x Jacke",
        "Am 5. März 2024 um 10:14 habe ich bestellt:\n- 2 x Wanderschuhe\n- 1 x Jacke",
    ),
    Case(
        "ru",
        "an order line with a date, a time and a colon",
        "Заказ от 05.03.2024 10:14:\nдо сих пор не пришёл.",
        "Заказ от 05.03.2024 10:14:\nдо сих пор не пришёл.",
    ),
    Case(
        "fr",
        "a header-like line that is an itinerary",
        "Voici mon trajet.\n\nDe: Paris\nÀ: Lyon\n\nLe billet est perdu.",
        "Voici mon trajet.\n\nDe: Paris\nÀ: Lyon\n\nLe billet est perdu.",
    ),
]

CASES = ATTRIBUTIONS + HEADER_BLOCKS + FOOTERS + MORE_CLIENTS + SIGN_OFF_CASES + KEPT


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reply_text(case: Case) -> None:
    reply = extract_reply(case.body)
    assert reply.text == case.text
    if case.signature is not None:
        assert reply.signature == case.signature


def test_the_set_is_broad() -> None:
    """At least 60 cases over at least 15 languages (issue 17)."""
    assert len(CASES) >= 60
    assert len({c.language for c in CASES}) >= 15
