# ruff: noqa: E501  (mail text, client strings and source citations kept on one line each: they are data)
"""How each mail client lays out a reply, a forward and its footer, per language.

Facts read from public sources (named in each case's `layout_source`); the strings are the
clients' fixed texts with our own date (Tuesday 1 December 2026), names and addresses.
`{n}`: the quoted sender's name, `{e}`: address, `{t}`: 24-hour time, `{t12}`: 12-hour time.
"""

from __future__ import annotations

SRC_CRISP = "crisp-oss/email-reply-parser test/fixtures"
SRC_ALFONS = "alfonsrv/mail-parser-reply mailparser_reply/constants.py and test/emails"
SRC_TALON = "mailgun/talon tests/fixtures (standard_replies)"
SRC_GITHUB = "github/email_reply_parser test/emails"
SRC_TB_L10N = (
    "thunderbird/thunderbird-l10n <locale>/mail/chrome/messenger/mime.properties, composeMsgs"
)
SRC_K9 = "thunderbird/thunderbird-android (K-9) res/values-<locale>/strings.xml reply_header / default_signature"
SRC_SISIMAI = "sisimai/p5-sisimai lib/Sisimai/Lhost"
SRC_FLUFL = "flufl.bounce flufl/bounce/_detectors"

GMAIL = {
    "en": "On Tue, Dec 1, 2026 at {t12} {n} <{e}> wrote:",
    "de": "Am Di., 1. Dez. 2026 um {t} Uhr schrieb {n} <{e}>:",
    "fr": "Le mar. 1 déc. 2026 à {t}, {n} <{e}> a écrit :",
    "es": "El mar, 1 dic 2026 a las {t}, {n} (<{e}>) escribió:",
    "it": "Il giorno mar 1 dic 2026 alle ore {t} {n} <{e}> ha scritto:",
    "pt": "Em ter., 1 de dez. de 2026 às {t}, {n} <{e}> escreveu:",
    "nl": "Op di 1 dec 2026 om {t} schreef {n} <{e}>:",
    "pl": "wt., 1 gru 2026 o {t} {n} <{e}> napisał(a):",
    "ru": "вт, 1 дек. 2026 г. в {t}, {n} <{e}>:",
    "uk": "вт, 1 груд. 2026 р. о {t} {n} <{e}> пише:",
    "cs": "út 1. 12. 2026 v {t} odesílatel {n} <{e}> napsal:",
    "sv": "Den tis 1 dec. 2026 kl {t} skrev {n} <{e}>:",
    "ja": "2026年12月1日(火) {t} {n} <{e}>:",
    "zh": "{n} <{e}> 于2026年12月1日周二 {t}写道：",
    "tr": "{n} <{e}>, 1 Ara 2026 Sal, {t} tarihinde şunu yazdı:",
}
GMAIL_DE_NAME_FIRST = "{n} <{e}> schrieb am Di., 1. Dez. 2026 um {t} Uhr:"
"""Gmail's German attribution since about 2018: the name first (issue 17: '… schrieb am Fr.,
28.\nApr. 2017 um 11:53 Uhr:' as wrapped in the text part)."""
GMAIL_OLD_RU = "1 декабря 2026 г., {t} пользователь {n} <{e}> написал:"
GMAIL_DATE_FIRST = "2026-12-01 {t} GMT+01:00 {n} <{e}>:"

APPLE = {
    "en": "On Dec 1, 2026, at {t12}, {n} <{e}> wrote:",
    "de": "Am 01.12.2026 um {t} schrieb {n} <{e}>:",
    "fr": "Le 1 déc. 2026 à {t}, {n} <{e}> a écrit :",
    "es": "El 1 dic 2026, a las {t}, {n} <{e}> escribió:",
    "it": "Il giorno 1 dic 2026, alle ore {t}, {n} <{e}> ha scritto:",
    "pt": "Em 1 de dez. de 2026, à(s) {t}, {n} <{e}> escreveu:",
    "nl": "Op 1 dec. 2026 om {t} heeft {n} <{e}> het volgende geschreven:",
    "pl": "Wiadomość napisana przez {n} <{e}> w dniu 1 gru 2026, o godz. {t}:",
    "ru": "1 дек. 2026 г., в {t}, {n} <{e}> написал(а):",
    "uk": "1 груд. 2026 р. о {t} {n} <{e}> написав(-ла):",
    "cs": "1. 12. 2026 v {t}, {n} <{e}>:",
    "sv": "1 dec. 2026 kl. {t} skrev {n} <{e}>:",
    "ja": "2026/12/01 {t}、{n} <{e}>のメール:",
    "zh": "2026年12月1日 {t}，{n} <{e}> 写道：",
    "tr": "1 Ara 2026 tarihinde {t} saatinde, {n} <{e}> şunları yazdı:",
}
IPHONE = {
    "en": "Sent from my iPhone",
    "de": "Von meinem iPhone gesendet",
    "fr": "Envoyé de mon iPhone",
    "es": "Enviado desde mi iPhone",
    "it": "Inviato da iPhone",
    "pt": "Enviado do meu iPhone",
    "nl": "Verstuurd vanaf mijn iPhone",
    "pl": "Wysłane z iPhone'a",
    "ru": "Отправлено с iPhone",
    "uk": "Надіслано з iPhone",
    "cs": "Odesláno z iPhonu",
    "sv": "Skickat från min iPhone",
    "ja": "iPhoneから送信",
    "zh": "发自我的iPhone",
    "tr": "iPhone'umdan gönderildi",
}
THUNDERBIRD = {
    "en": "On 12/1/26 {t12}, {n} wrote:",
    "de": "Am 01.12.26 um {t} schrieb {n}:",
    "fr": "Le 01/12/2026 à {t}, {n} a écrit :",
    "es": "El 1/12/26 a las {t}, {n} escribió:",
    "it": "Il 01/12/26 {t}, {n} ha scritto:",
    "pt": "Em 01/12/2026 {t}, {n} escreveu:",
    "nl": "Op 01-12-2026 om {t} schreef {n}:",
    "pl": "W dniu 1.12.2026 o {t}, {n} pisze:",
    "ru": "01.12.2026 {t}, {n} пишет:",
    "uk": "01.12.26 {t}, {n} пише:",
    "cs": "Dne 01. 12. 26 v {t} {n} napsal(a):",
    "sv": "2026-12-01 kl. {t}, skrev {n}:",
    "ja": "2026/12/01 {t}, {n} wrote:",
    "zh": "在 2026/12/1 {t}, {n} 写道:",
    "tr": "1.12.2026 {t} tarihinde {n} yazdı:",
}
TB_ORIGINAL = {
    "en": "-------- Original Message --------",
    "de": "-------- Originalnachricht --------",
    "fr": "-------- Message original --------",
    "es": "-------- Mensaje original --------",
    "it": "-------- Messaggio originale --------",
    "nl": "-------- Oorspronkelijk bericht --------",
    "pl": "-------- Wiadomość oryginalna --------",
    "ru": "-------- Исходное сообщение --------",
}
TB_FORWARD = {
    # separator, then (Subject, Date, From, To) labels
    "en": ("-------- Forwarded Message --------", ("Subject", "Date", "From", "To")),
    "de": ("-------- Weitergeleitete Nachricht --------", ("Betreff", "Datum", "Von", "An")),
    "fr": ("-------- Message transféré --------", ("Sujet :", "Date :", "De :", "Pour :")),
    "es": ("-------- Mensaje reenviado --------", ("Asunto", "Fecha", "De", "Para")),
    "it": ("-------- Messaggio Inoltrato --------", ("Oggetto", "Data", "Mittente", "A")),
    "pl": ("-------- Przekazana wiadomość --------", ("Temat", "Data", "Od", "Do")),
    "ru": ("-------- Перенаправленное сообщение --------", ("Тема", "Дата", "От", "Кому")),
    "nl": ("-------- Doorgestuurd bericht --------", ("Onderwerp", "Datum", "Van", "Aan")),
    "cs": ("-------- Přeposlaná zpráva --------", ("Předmět", "Datum", "Od", "Komu")),
    "sv": ("-------- Vidarebefordrat meddelande --------", ("Ämne", "Datum", "Från", "Till")),
}
# Outlook: (From, Sent, To, Subject, the date as Outlook writes it)
OUTLOOK = {
    "en": ("From", "Sent", "To", "Subject", "Tuesday, December 1, 2026 {t12}"),
    "de": ("Von", "Gesendet", "An", "Betreff", "Dienstag, 1. Dezember 2026 {t}"),
    "fr": ("De\u00a0", "Envoyé\u00a0", "À\u00a0", "Objet\u00a0", "mardi 1 décembre 2026 {t}"),
    "es": ("De", "Enviado el", "Para", "Asunto", "martes, 1 de diciembre de 2026 {t}"),
    "it": ("Da", "Inviato", "A", "Oggetto", "martedì 1 dicembre 2026 {t}"),
    "pt": ("De", "Enviado", "Para", "Assunto", "terça-feira, 1 de dezembro de 2026 {t}"),
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp", "dinsdag 1 december 2026 {t}"),
    "pl": ("Od", "Wysłano", "Do", "Temat", "wtorek, 1 grudnia 2026 {t}"),
    "ru": ("От", "Отправлено", "Кому", "Тема", "1 декабря 2026 г. {t}"),
    "uk": ("Від", "Надіслано", "Кому", "Тема", "1 грудня 2026 р. {t}"),
    "cs": ("Od", "Odesláno", "Komu", "Předmět", "úterý 1. prosince 2026 {t}"),
    "sv": ("Från", "Skickat", "Till", "Ämne", "den 1 december 2026 {t}"),
    "ja": ("差出人", "送信日時", "宛先", "件名", "2026年12月1日 {t}"),
    "zh": ("发件人", "发送时间", "收件人", "主题", "2026年12月1日 {t}"),
    "tr": ("Kimden", "Gönderildi", "Kime", "Konu", "1 Aralık 2026 Salı {t}"),
}
OUTLOOK_ORIGINAL = {
    "en": "-----Original Message-----",
    "de": "-----Ursprüngliche Nachricht-----",
    "fr": "-----Message d'origine-----",
    "es": "-----Mensaje original-----",
    "it": "-----Messaggio originale-----",
    "nl": "-----Oorspronkelijk bericht-----",
    "pl": "-----Wiadomość oryginalna-----",
    "pt": "-----Mensagem original-----",
    "sv": "-----Ursprungligt meddelande-----",
    "cs": "-----Původní zpráva-----",
    "ru": "-----Исходное сообщение-----",
}
OUTLOOK_FW = {
    "en": "FW",
    "de": "WG",
    "fr": "TR",
    "es": "RV",
    "it": "I",
    "pt": "ENC",
    "nl": "FW",
    "pl": "PD",
    "sv": "VB",
    "ru": "FW",
    "uk": "FW",
    "cs": "FW",
    "tr": "İLT",
    "ja": "FW",
    "zh": "转发",
}
OUTLOOK_MOBILE = {
    "en": "Get Outlook for Android<https://aka.ms/AAb9ysg>",
    "de": "Outlook für Android herunterladen<https://aka.ms/AAb9ysg>",
    "fr": "Télécharger Outlook pour Android<https://aka.ms/AAb9ysg>",
    "es": "Obtener Outlook para Android<https://aka.ms/AAb9ysg>",
    "it": "Scarica Outlook per Android<https://aka.ms/AAb9ysg>",
    "nl": "Outlook voor Android downloaden<https://aka.ms/AAb9ysg>",
    "pl": "Pobierz aplikację Outlook dla systemu Android<https://aka.ms/AAb9ysg>",
    "pt": "Obter o Outlook para Android<https://aka.ms/AAb9ysg>",
    "sv": "Skaffa Outlook för Android<https://aka.ms/AAb9ysg>",
    "ru": "Получить Outlook для Android<https://aka.ms/AAb9ysg>",
    "tr": "Android için Outlook'u edinin<https://aka.ms/AAb9ysg>",
}
OUTLOOK_IOS = {
    "en": "Sent from Outlook for iOS<https://aka.ms/o0ukef>",
    "de": "Von Outlook für iOS gesendet<https://aka.ms/o0ukef>",
    "fr": "Envoyé à partir de Outlook pour iOS<https://aka.ms/o0ukef>",
    "es": "Enviado desde Outlook para iOS<https://aka.ms/o0ukef>",
    "it": "Inviato da Outlook per iOS<https://aka.ms/o0ukef>",
}
K9 = {
    "en": "On December 1, 2026 {t}:18 AM GMT+01:00, {n} <{e}> wrote:",
    "de": "Am 1. Dezember 2026 {t}:18 MEZ, schrieb {n} <{e}>:",
    "fr": "Le 1 décembre 2026 {t}:18 GMT+01:00, {n} <{e}> a écrit :",
    "es": "El 1 de diciembre de 2026 {t}:18 CET, {n} <{e}> escribió:",
    "it": "Il 1 dicembre 2026 {t}:18 CET, {n} <{e}> ha scritto:",
    "nl": "Op 1 december 2026 {t}:18 CET schreef {n} <{e}>:",
    "pl": "Dnia 1 grudnia 2026 {t}:18 CET, {n} <{e}> napisał:",
    "ru": "1 декабря 2026 г. {t}:18 GMT+03:00, {n} <{e}> пишет:",
    "cs": "Dne 1. prosince 2026 {t}:18 SEČ, {n} <{e}> napsal:",
    "sv": "Den 1 december 2026 {t}:18 CET skrev {n} <{e}>:",
}
K9_OLD = {"en": "{n} <{e}> wrote:", "de": "{n} <{e}> schrieb:"}
"""K-9 4.x wrote no date (message_compose_reply_header_fmt)."""
K9_FOOTER = {
    "en": "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
    "de": "Diese Nachricht wurde von meinem Android-Gerät mit K-9 Mail gesendet.",
    "fr": "Envoyé de mon appareil Android avec K-9 Mail. Veuillez excuser ma brièveté.",
    "es": "Enviado desde mi dispositivo Android con K-9 Mail. Por favor, disculpa mi brevedad.",
    "it": "Inviato dal mio dispositivo Android con K-9 Mail. Perdonate la brevità.",
    "nl": "Verzonden vanaf mijn Android apparaat met K-9 Mail. Excuseer mijn beknoptheid.",
    "pl": "Wysłane z mojego urządzenia Android przy użyciu K-9 Mail. Przepraszam za zwięzłość.",
    "ru": "Отправлено с моего Android-устройства с помощью K-9 Mail. Извините за краткость.",
    "cs": "Odesláno z mého zařízení Android pomocí K-9 Mail. Omluvte prosím mou stručnost.",
    "sv": "Skickat från min Android-enhet med K-9 Mail. Ursäkta min korthet.",
}
SAMSUNG_FOOTER = {
    "en": "Sent from my Samsung Galaxy smartphone.",
    "de": "Von meinem Samsung Galaxy Smartphone gesendet.",
    "fr": "Envoyé depuis mon smartphone Samsung Galaxy.",
    "es": "Enviado desde mi smartphone Samsung Galaxy.",
    "it": "Inviato dal mio smartphone Samsung Galaxy.",
    "pt": "Enviado do meu smartphone Samsung Galaxy.",
    "nl": "Verzonden vanaf mijn Samsung Galaxy-smartphone.",
    "pl": "Wysłane z mojego smartfona Samsung Galaxy.",
    "ru": "Отправлено с устройства Samsung Galaxy",
    "uk": "Надіслано з мого смартфона Samsung Galaxy",
    "cs": "Odesláno z mého smartphonu Samsung Galaxy.",
    "sv": "Skickat från min Samsung Galaxy-smartphone.",
    "tr": "Samsung Galaxy akıllı telefonumdan gönderildi",
}
SAMSUNG_HEADER = {
    # separator, (From, Date, To, Subject), date
    "en": (
        "-------- Original message --------",
        ("From", "Date", "To", "Subject"),
        "12/1/26 {t} (GMT+00:00)",
    ),
    "de": (
        "-------- Ursprüngliche Nachricht --------",
        ("Von", "Datum", "An", "Betreff"),
        "01.12.26 {t} (GMT+01:00)",
    ),
    "fr": (
        "-------- Message d'origine --------",
        ("De", "Date", "À", "Objet"),
        "01/12/2026 {t} (GMT+01:00)",
    ),
    "es": (
        "-------- Mensaje original --------",
        ("De", "Fecha", "Para", "Asunto"),
        "1/12/26 {t} (GMT+01:00)",
    ),
    "it": (
        "-------- Messaggio originale --------",
        ("Da", "Data", "A", "Oggetto"),
        "01/12/26 {t} (GMT+01:00)",
    ),
    "pt": (
        "-------- Mensagem original --------",
        ("De", "Data", "Para", "Assunto"),
        "01/12/2026 {t} (GMT+00:00)",
    ),
    "nl": (
        "-------- Oorspronkelijk bericht --------",
        ("Van", "Datum", "Aan", "Onderwerp"),
        "01-12-26 {t} (GMT+01:00)",
    ),
    "pl": (
        "-------- Oryginalna wiadomość --------",
        ("Od", "Data", "Do", "Temat"),
        "01.12.2026 {t} (GMT+01:00)",
    ),
    "ru": (
        "-------- Исходное сообщение --------",
        ("От", "Дата", "Кому", "Тема"),
        "01.12.2026 {t} (GMT+03:00)",
    ),
    "uk": (
        "-------- Оригінальне повідомлення --------",
        ("Від", "Дата", "Кому", "Тема"),
        "01.12.26 {t} (GMT+02:00)",
    ),
    "cs": (
        "-------- Původní zpráva --------",
        ("Od", "Datum", "Komu", "Předmět"),
        "01.12.26 {t} (GMT+01:00)",
    ),
    "sv": (
        "-------- Originalmeddelande --------",
        ("Från", "Datum", "Till", "Ämne"),
        "2026-12-01 {t} (GMT+01:00)",
    ),
    "tr": (
        "-------- Orijinal mesaj --------",
        ("Kimden", "Tarih", "Alıcı", "Konu"),
        "1.12.2026 {t} (GMT+03:00)",
    ),
}
YAHOO = {
    "en": "On Tuesday, December 1, 2026 at {t12} GMT+1, {n} <{e}> wrote:",
    "de": "Am Dienstag, 1. Dezember 2026 um {t}:31 MEZ hat {n} <{e}> Folgendes geschrieben:",
    "fr": "Le mardi 1 décembre 2026 à {t}:31 UTC+1, {n} <{e}> a écrit :",
    "es": "El martes, 1 de diciembre de 2026, {t}:31 CET, {n} <{e}> escribió:",
    "it": "In martedì 1 dicembre 2026, {t}:31 CET, {n} <{e}> ha scritto:",
    "pt": "Em terça-feira, 1 de dezembro de 2026, {t}:31 BRT, {n} <{e}> escreveu:",
}
YAHOO_MOBILE = {
    "en": ("Sent from Yahoo Mail on Android", "On Tue, Dec 1, 2026 at {t}, {n}<{e}> wrote:"),
    "de": ("Gesendet von Yahoo Mail auf Android", "Am Di., Dez. 1, 2026 at {t} schrieb {n}<{e}>:"),
    "fr": ("Envoyé de Yahoo Mail pour Android", "Le mar., déc. 1, 2026 à {t}, {n}<{e}> a écrit :"),
    "es": (
        "Enviado desde Yahoo Mail con Android",
        "El mar., dic. 1, 2026 a las {t}, {n}<{e}> escribió:",
    ),
    "it": (
        "Inviato da Yahoo Mail su Android",
        "Il mar, dic 1, 2026 alle {t}, {n}<{e}> ha scritto:",
    ),
}
YAHOO_FORWARD = {
    # Yahoo's text part glues the header lines together (its HTML rendered without breaks)
    "en": (
        "----- Forwarded Message -----",
        ("From", "To", "Sent", "Subject"),
        "Tuesday, December 1, 2026, {t}:50 AM GMT+1",
    ),
    "de": (
        "----- Weitergeleitete Nachricht -----",
        ("Von", "An", "Gesendet", "Betreff"),
        "Dienstag, 1. Dezember 2026, {t}:50 MEZ",
    ),
    "fr": (
        "----- Message transmis -----",
        ("De :", "À :", "Envoyé :", "Objet :"),
        "mardi 1 décembre 2026, {t}:50 UTC+1",
    ),
    "es": (
        "----- Mensaje reenviado -----",
        ("De", "Para", "Enviado", "Asunto"),
        "martes, 1 de diciembre de 2026 {t}:50 CET",
    ),
    "it": (
        "----- Messaggio inoltrato -----",
        ("Da", "A", "Inviato", "Oggetto"),
        "martedì 1 dicembre 2026, {t}:50 CET",
    ),
    "nl": (
        "----- Doorgestuurd bericht -----",
        ("Van", "Aan", "Verzonden", "Onderwerp"),
        "dinsdag 1 december 2026 {t}:50 CET",
    ),
    "pl": (
        "----- Przekazana wiadomość -----",
        ("Od", "Do", "Wysłano", "Temat"),
        "wtorek, 1 grudnia 2026, {t}:50 CET",
    ),
    "cs": (
        "----- Přeposlaná zpráva -----",
        ("Od", "Komu", "Datum", "Předmět"),
        "úterý 1. prosince 2026 {t}:50 SEČ",
    ),
}
GMX = {
    "de": ("Gesendet: Dienstag, 01. Dezember 2026 um {t} Uhr", ("Von", "An", "Betreff")),
    "en": ("Sent: Tuesday, December 01, 2026 at {t12}", ("From", "To", "Subject")),
}
GMX_FOOTER = "Diese Nachricht wurde von meinem Android Mobiltelefon mit {brand} Mail gesendet."
MAILRU = ">Вторник, 1 декабря 2026, {t} +03:00 от {n} <{e}>:"
MAILRU_WEB_FOOTER = "Отправлено из Почты Mail ( https://trk.mail.ru/c/k4x2q7 )"
MAILRU_FOOTER = {
    "ru": "Отправлено из мобильной Почты Mail.ru",
    "uk": "Відправлено з мобільної Пошти Mail.ru",
    "en": "Sent from Mail.ru app for Android",
}
YANDEX = '01.12.2026, {t}, "{n}" <{e}>:'
YANDEX_FOOTER = {
    "ru": "Отправлено из мобильного приложения Яндекс Почты",
    "uk": "Надіслано з мобільного застосунку Яндекс Пошти",
    "en": "Sent from Yandex Mail for mobile",
}
YANDEX_FORWARD = (
    "-------- Начало переадресованного сообщения --------",
    "-------- Конец переадресованного сообщения --------",
)
MAILRU_FORWARD = (
    "-------- Пересылаемое сообщение --------",
    ("От кого", "Кому", "Дата", "Тема"),
    "Вторник, 1 декабря 2026, {t} +03:00",
)

OUTLOOK_2019 = {
    # Outlook 2019 (Mac) replying in plain text: attribution, quote indented by four spaces
    "en": 'On 01/12/2026 {t}, "{n}" <{e}> wrote:',
    "de": 'Am 01/12/2026, {t} schrieb "{n}" <{e}>:',
    "es": 'El 01/12/2026 {t}, "{n}" <{e}> escribió:',
    "cs": "Dne 01/12/2026 {t}, {n} <{e}> napsal(a):",
}
SAMSUNG_CORPORATE = "--------- Original Message ---------\nSender : {n} <{e}>\nDate : 2026-12-01 {t} (GMT+9)\nTitle : {s}"
GMAIL_FORWARD = {
    "en": (
        "---------- Forwarded message ---------",
        ("From", "Date", "Subject", "To"),
        "Tue, Dec 1, 2026 at {t12}",
    ),
    "de": (
        "---------- Forwarded message ---------",
        ("Von", "Date", "Subject", "To"),
        "Di., 1. Dez. 2026 um {t} Uhr",
    ),
    "fr": (
        "---------- Forwarded message ---------",
        ("De\u00a0:", "Date:", "Subject:", "To:"),
        "mar. 1 déc. 2026 à {t}",
    ),
    "es": (
        "---------- Forwarded message ---------",
        ("De", "Date", "Subject", "To"),
        "mar, 1 dic 2026 a las {t}",
    ),
    "it": (
        "---------- Forwarded message ---------",
        ("Da", "Date", "Subject", "To"),
        "mar 1 dic 2026 alle ore {t}",
    ),
    "pt": (
        "---------- Forwarded message ---------",
        ("De", "Date", "Subject", "To"),
        "ter., 1 de dez. de 2026 às {t}",
    ),
    "ru": (
        "---------- Forwarded message ---------",
        ("От", "Date", "Subject", "To"),
        "вт, 1 дек. 2026 г. в {t}",
    ),
    "ja": (
        "---------- Forwarded message ---------",
        ("From", "Date", "Subject", "To"),
        "2026年12月1日(火) {t}",
    ),
    "zh": (
        "---------- Forwarded message ---------",
        ("发件人", "Date", "Subject", "To"),
        "2026年12月1日周二 {t}",
    ),
    "tr": (
        "---------- Forwarded message ---------",
        ("Gönderen", "Date", "Subject", "To"),
        "1 Ara 2026 Sal, {t}",
    ),
    "nl": (
        "---------- Forwarded message ---------",
        ("Van", "Date", "Subject", "To"),
        "di 1 dec 2026 om {t}",
    ),
    "pl": (
        "---------- Forwarded message ---------",
        ("Od", "Date", "Subject", "To"),
        "wt., 1 gru 2026 o {t}",
    ),
    "uk": (
        "---------- Forwarded message ---------",
        ("Від", "Date", "Subject", "To"),
        "вт, 1 груд. 2026 р. о {t}",
    ),
    "cs": (
        "---------- Forwarded message ---------",
        ("Od", "Date", "Subject", "To"),
        "út 1. 12. 2026 v {t}",
    ),
    "sv": (
        "---------- Forwarded message ---------",
        ("Från", "Date", "Subject", "To"),
        "tis 1 dec. 2026 kl {t}",
    ),
}
APPLE_FORWARD = {
    "en": (
        "Begin forwarded message:",
        ("From", "Subject", "Date", "To"),
        "1 December 2026 at {t}:00 GMT",
    ),
    "de": (
        "Anfang der weitergeleiteten Nachricht:",
        ("Von", "Betreff", "Datum", "An"),
        "1. Dezember 2026 um {t}:00 MEZ",
    ),
    "fr": (
        "Début du message réexpédié :",
        ("De", "Objet", "Date", "À"),
        "1 décembre 2026 à {t}:00 UTC+1",
    ),
    "es": (
        "Inicio del mensaje reenviado:",
        ("De", "Asunto", "Fecha", "Para"),
        "1 de diciembre de 2026, {t}:00 CET",
    ),
    "it": (
        "Inizio messaggio inoltrato:",
        ("Da", "Oggetto", "Data", "A"),
        "1 dicembre 2026 {t}:00 CET",
    ),
    "nl": (
        "Begin doorgestuurd bericht:",
        ("Van", "Onderwerp", "Datum", "Aan"),
        "1 december 2026 om {t}:00 CET",
    ),
    "cs": (
        "Začátek přeposílané zprávy:",
        ("Od", "Předmět", "Datum", "Komu"),
        "1. prosince 2026 {t}:00 SEČ",
    ),
    "ru": (
        "Начало переадресованного сообщения:",
        ("От", "Тема", "Дата", "Кому"),
        "1 декабря 2026 г. в {t}:00 GMT+3",
    ),
    "sv": (
        "Vidarebefordrat mejl:",
        ("Från", "Ämne", "Datum", "Till"),
        "1 december 2026 {t}:00 CET",
    ),
    "pl": (
        "Początek przekazywanej wiadomości:",
        ("Od", "Temat", "Data", "Do"),
        "1 grudnia 2026 o {t}:00 CET",
    ),
    "pt": (
        "Início da mensagem reencaminhada:",
        ("De", "Assunto", "Data", "Para"),
        "1 de dezembro de 2026, {t}:00 WET",
    ),
    "ja": ("転送されたメッセージ:", ("差出人", "件名", "日付", "宛先"), "2026年12月1日 {t}:00 JST"),
    "zh": (
        "以下为转发的邮件：",
        ("发件人", "主题", "日期", "收件人"),
        "2026年12月1日 GMT+8 {t}:00",
    ),
    "tr": (
        "İleti başlangıcı:",
        ("Kimden", "Konu", "Tarih", "Kime"),
        "1 Aralık 2026 {t}:00 GMT+3",
    ),
    "uk": (
        "Початок листа, що пересилається:",
        ("Від кого", "Тема", "Дата", "Кому"),
        "1 грудня 2026 р. о {t}:00 GMT+2",
    ),
}
