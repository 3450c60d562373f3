# ruff: noqa: E501  (mail text, client strings and source citations kept on one line each: they are data)
"""What the people in the mail set write: customer texts, our earlier answers, forwarded mail.

All invented for this set (names and addresses at example.com/.org/.net and subdomains);
`build.py` puts them into each mail client's layout.
"""

from __future__ import annotations

# language -> customers (name, address)
CUSTOMERS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("Anna Whitfield", "anna.whitfield@example.com"),
        ("Marcus O'Neill", "m.oneill@example.org"),
    ],
    "de": [
        ("Jürgen Baumgärtner", "j.baumgaertner@example.de"),
        ("Katrin Vogelsang", "katrin.v@example.net"),
    ],
    "fr": [
        ("Hélène Marchetti", "helene.marchetti@example.fr"),
        ("Benoît Lacroix", "b.lacroix@example.org"),
    ],
    "es": [
        ("Lucía Ferrández", "lucia.ferrandez@example.es"),
        ("Joaquín Sáez", "jsaez@example.com"),
    ],
    "it": [
        ("Giulia Benedetti", "giulia.benedetti@example.it"),
        ("Matteo Caruso", "m.caruso@example.net"),
    ],
    "pt": [
        ("João Figueiredo", "joao.figueiredo@example.com.br"),
        ("Inês Carvalho", "ines.carvalho@example.pt"),
    ],
    "nl": [
        ("Femke van Dijk", "femke.vandijk@example.nl"),
        ("Joost Verhoeven", "joost@example.org"),
    ],
    "pl": [
        ("Małgorzata Wiśniewska", "m.wisniewska@example.pl"),
        ("Paweł Zając", "pawel.zajac@example.com"),
    ],
    "ru": [
        ("Светлана Кузнецова", "s.kuznetsova@example.ru"),
        ("Дмитрий Орлов", "orlov.d@example.com"),
    ],
    "uk": [
        ("Оксана Мельник", "oksana.melnyk@example.com.ua"),
        ("Тарас Бойко", "t.boyko@example.net"),
    ],
    "cs": [
        ("Tereza Dvořáková", "tereza.dvorakova@example.cz"),
        ("Jiří Procházka", "jiri.p@example.com"),
    ],
    "sv": [
        ("Åsa Lindqvist", "asa.lindqvist@example.se"),
        ("Björn Ekström", "bjorn.ekstrom@example.org"),
    ],
    "ja": [("佐藤 美咲", "misaki.sato@example.jp"), ("高橋 健太", "k.takahashi@example.co.jp")],
    "zh": [("王芳", "wang.fang@example.cn"), ("李明", "liming@example.com")],
    "tr": [
        ("Elif Yıldız", "elif.yildiz@example.com.tr"),
        ("Murat Şahin", "murat.sahin@example.net"),
    ],
}

# language -> what customers write now (the expected reply_text)
NEW: dict[str, list[str]] = {
    "en": [
        "Hi,\n\nThe replacement charger arrived today but it has the EU plug, not the UK one.\nCan you send the right one? Order 10042.",
        "Hello,\n\nThanks for the quick answer. I tried the reset you described and the\nscale still shows Err 4 after a minute. What should I do next?",
        "Hi there,\n\nI was charged twice for invoice 2026-1187 (two identical payments on\nNov 28). Please refund one of them to the same card.",
        "Hello,\n\nCould you change the delivery address for order 10311 to\n14 Harbour Lane, Bristol BS1 4QA? The parcel has not shipped yet.",
        "Hi,\n\nThat worked, the app syncs again. One more question: can I add a\nsecond user to the same subscription without paying twice?",
    ],
    "de": [
        "Hallo,\n\ndas Ersatzteil ist angekommen, aber die Schrauben fehlen im Paket.\nKönnen Sie mir die vier Schrauben (M4 x 12) nachschicken?",
        "Guten Tag,\n\nvielen Dank für die schnelle Antwort. Die Rücksendung habe ich heute\nbei der Post abgegeben, Sendungsnummer 00340434161094000012.",
        'Hallo zusammen,\n\nleider funktioniert der Gutscheincode WINTER26 im Warenkorb nicht,\nes kommt immer "Code ungültig". Was mache ich falsch?',
        "Sehr geehrte Damen und Herren,\n\nich möchte mein Abo zum Monatsende kündigen. Bitte bestätigen Sie mir\ndie Kündigung schriftlich.",
        "Hallo,\n\ndie Rechnung ist auf meine alte Adresse ausgestellt. Bitte ändern Sie\nsie auf: Lindenstraße 7, 04109 Leipzig.",
    ],
    "fr": [
        "Bonjour,\n\nJe n'ai toujours pas reçu le remboursement de la commande 20417.\nPouvez-vous vérifier s'il a bien été effectué ?",
        "Bonjour,\n\nMerci pour votre réponse. La mise à jour n'a rien changé, l'écran reste\nnoir au démarrage. Faut-il renvoyer l'appareil ?",
        "Bonjour,\n\nEst-il possible de recevoir une facture au nom de ma société ?\nNuméro de TVA : FR40123456789.",
        "Bonsoir,\n\nLe colis est arrivé abîmé, la boîte était ouverte et il manque le câble.\nJe joins une photo dès que possible.",
        "Bonjour,\n\nParfait, j'ai bien reçu le lien. Par contre le mot de passe provisoire\nne fonctionne pas, pouvez-vous m'en envoyer un autre ?",
    ],
    "es": [
        "Hola,\n\nEl pedido 30552 llegó incompleto: falta la funda protectora.\n¿Me la podéis enviar por separado?",
        "Buenos días,\n\nGracias por la respuesta. He probado a reinstalar la aplicación pero\nsigue sin sincronizar los datos del reloj.",
        "Hola,\n\nMe habéis cobrado los gastos de envío aunque el pedido superaba los 50 €.\n¿Podéis devolverme esa parte?",
        "Buenas tardes,\n\nNecesito la factura con mi NIF (12345678Z) para la empresa.\n¿Es posible emitirla de nuevo?",
        "Hola,\n\n¿Cuándo vuelve a estar disponible la talla M en color azul?\nMe gustaría cambiar la L que compré.",
    ],
    "it": [
        "Buongiorno,\n\nil pacco risulta consegnato ma non l'ho mai ricevuto.\nPotete aprire una pratica con il corriere?",
        "Salve,\n\ngrazie per la risposta. Ho provato a reimpostare il router ma la\nconnessione cade ancora ogni sera verso le 21.",
        "Buongiorno,\n\nvorrei restituire le scarpe dell'ordine 40981, sono troppo piccole.\nCome devo procedere?",
        "Ciao,\n\nil codice sconto che mi avete mandato è scaduto ieri.\nPotete rinnovarlo per qualche giorno?",
        "Buonasera,\n\nla fattura riporta un indirizzo sbagliato, il CAP corretto è 20135.\nPotete correggerla?",
    ],
    "pt": [
        "Olá,\n\nA encomenda 50231 ainda não chegou e o rastreio não muda desde sexta.\nPodem verificar com a transportadora?",
        "Bom dia,\n\nObrigado pela resposta. Fiz o que sugeriram mas a máquina continua a\nmostrar o erro E07.",
        "Boa tarde,\n\nGostaria de trocar o tamanho do casaco para o 42.\nO que preciso fazer?",
        "Olá,\n\nFui cobrado duas vezes no cartão pelo mesmo pedido.\nPodem estornar uma das cobranças?",
        "Bom dia,\n\nPreciso da nota fiscal em nome da empresa, CNPJ 12.345.678/0001-90.\nÉ possível reenviar?",
    ],
    "nl": [
        "Hallo,\n\nDe vervangende lamp is vandaag bezorgd, maar hij past niet in de\nfitting. Kunnen jullie de E14-versie sturen?",
        "Goedemiddag,\n\nBedankt voor het snelle antwoord. Het retourlabel werkt helaas niet,\nde printer geeft een foutmelding bij de barcode.",
        "Hoi,\n\nIk wil mijn abonnement pauzeren tot februari.\nKan dat zonder extra kosten?",
        'Beste klantenservice,\n\nMijn bestelling 61120 staat al vijf dagen op "in behandeling".\nWanneer wordt deze verzonden?',
        "Hallo,\n\nKunnen jullie de factuur op naam van mijn bedrijf zetten?\nKvK-nummer 12345678.",
    ],
    "pl": [
        "Dzień dobry,\n\nPaczka z zamówienia 70418 dotarła uszkodzona, pudełko było zgniecione.\nCzy mogę prosić o wymianę?",
        "Witam,\n\nDziękuję za odpowiedź. Niestety po aktualizacji aplikacja nadal się\nzawiesza przy logowaniu.",
        "Dzień dobry,\n\nProszę o wystawienie faktury na firmę, NIP 123-456-32-18.\nDane są takie same jak w zamówieniu.",
        "Cześć,\n\nKiedy mogę się spodziewać zwrotu pieniędzy za odesłany towar?\nMinęły już dwa tygodnie.",
        "Dzień dobry,\n\nChciałabym zmienić adres dostawy na ul. Polna 12/4, 00-625 Warszawa.\nZamówienie jeszcze nie zostało wysłane.",
    ],
    "ru": [
        "Здравствуйте!\n\nЗаказ 80214 пришёл без инструкции и без зарядного устройства.\nМожете досылать недостающее?",
        "Добрый день,\n\nспасибо за ответ. Я сбросил настройки, но приложение всё равно\nне видит устройство.",
        "Здравствуйте,\n\nпрошу вернуть деньги за подписку, её продлили без моего согласия.\nНомер счёта 2026-5531.",
        "Добрый вечер!\n\nПодскажите, пожалуйста, когда снова появится модель X200 в чёрном цвете?",
        "Здравствуйте,\n\nв счёте указан неправильный ИНН организации, правильный 7701234567.\nИсправьте, пожалуйста.",
    ],
    "uk": [
        "Доброго дня!\n\nЗамовлення 90117 досі не надіслане, хоча оплата пройшла тиждень тому.\nКоли його відправлять?",
        "Вітаю,\n\nдякую за відповідь. Оновлення не допомогло, годинник і далі\nне синхронізується з телефоном.",
        "Добрий день,\n\nчи можна обміняти куртку на розмір більший?\nЧек і бирки збережені.",
        "Доброго вечора,\n\nз картки списали кошти двічі за одне замовлення.\nПрошу повернути зайву суму.",
        "Вітаю!\n\nПотрібен рахунок на ФОП, код 3123456789.\nНадішліть, будь ласка, на цю адресу.",
    ],
    "cs": [
        "Dobrý den,\n\nobjednávka 11503 dorazila bez napájecího kabelu.\nMůžete mi ho prosím poslat?",
        "Dobrý den,\n\nděkuji za odpověď. Restart bohužel nepomohl, tiskárna pořád hlásí\nchybu papíru.",
        "Zdravím,\n\nchtěla bych vrátit boty z objednávky 11872, jsou malé.\nJak mám postupovat?",
        "Dobrý den,\n\nna faktuře chybí IČO naší firmy: 12345678.\nMůžete ji vystavit znovu?",
        "Ahoj,\n\nkdy bude znovu skladem model S v modré barvě?",
    ],
    "sv": [
        "Hej,\n\nPaketet med order 12260 har inte kommit fram, spårningen står still\nsedan i måndags. Kan ni kontrollera?",
        "Hej!\n\nTack för svaret. Jag har testat att starta om men appen loggar\nfortfarande ut mig hela tiden.",
        "Hej,\n\nJag vill byta jackan mot storlek L.\nHur gör jag?",
        "Hej hej,\n\nFakturan har fel adress, rätt är Storgatan 5, 411 38 Göteborg.\nKan ni rätta den?",
        "God morgon,\n\nJag blev debiterad två gånger för samma beställning.\nKan ni återbetala det ena beloppet?",
    ],
    "ja": [
        "お世話になっております。\n\n注文番号13318の商品が届きましたが、付属のケーブルが入っていませんでした。\n送っていただけますでしょうか。",
        "ご回答ありがとうございます。\n\n教えていただいた手順で再起動しましたが、まだエラーE2が表示されます。",
        "お世話になります。\n\n請求書の宛名を会社名に変更していただくことは可能でしょうか。",
        "こんにちは。\n\n先日返品した商品の返金はいつ頃になりますか。",
        "いつもありがとうございます。\n\n配送先の住所を変更したいのですが、まだ間に合いますか。",
    ],
    "zh": [
        "您好，\n\n订单14427收到了，但是少了一个充电器，请帮忙补发。",
        "你好！\n\n谢谢回复。我按照说明重置了设备，但是还是无法连接手机。",
        "您好，\n\n请问可以开具公司抬头的发票吗？税号是91310000123456789X。",
        "你好，\n\n我想退货，订单号14903，衣服尺码偏小。请问怎么操作？",
        "您好，\n\n同一笔订单被扣款两次，请退还多扣的金额。",
    ],
    "tr": [
        "Merhaba,\n\n15520 numaralı siparişim hâlâ gelmedi, kargo takibi üç gündür değişmiyor.\nKontrol edebilir misiniz?",
        "İyi günler,\n\nCevabınız için teşekkürler. Sıfırlama yaptım ama cihaz hâlâ\nbağlanmıyor.",
        "Merhaba,\n\nFaturanın şirket adına kesilmesi mümkün mü? Vergi no: 1234567890.",
        "Merhabalar,\n\nAynı sipariş için kartımdan iki kez ödeme alındı.\nFazla tutarı iade eder misiniz?",
        "Merhaba,\n\nMontu bir beden büyüğüyle değiştirmek istiyorum. Nasıl yapabilirim?",
    ],
}

# language -> (sign-off, placed before the customer's first name)
SIGN_OFF = {
    "en": "Thanks,",
    "de": "Viele Grüße",
    "fr": "Cordialement,",
    "es": "Saludos,",
    "it": "Grazie,",
    "pt": "Obrigado,",
    "nl": "Met vriendelijke groet,",
    "pl": "Pozdrawiam,",
    "ru": "С уважением,",
    "uk": "З повагою,",
    "cs": "S pozdravem,",
    "sv": "Vänliga hälsningar,",
    "ja": "よろしくお願いいたします。",
    "zh": "谢谢！",
    "tr": "Saygılarımla,",
}

# language -> our support team's name and the answer the customer replies to
SUPPORT = {
    "en": (
        "Example Shop Support",
        "Thank you for contacting us. We have checked your order and\nsent the details below. Let us know if anything is still unclear.",
    ),
    "de": (
        "Beispiel-Shop Kundenservice",
        "vielen Dank für Ihre Nachricht. Wir haben Ihre Bestellung geprüft.\nBitte melden Sie sich, falls noch Fragen offen sind.",
    ),
    "fr": (
        "Service client Exemple",
        "Merci pour votre message. Nous avons vérifié votre commande.\nN'hésitez pas à revenir vers nous si besoin.",
    ),
    "es": (
        "Atención al cliente Ejemplo",
        "Gracias por escribirnos. Hemos revisado su pedido.\nQuedamos a su disposición para cualquier duda.",
    ),
    "it": (
        "Assistenza Clienti Esempio",
        "grazie per averci contattato. Abbiamo verificato il suo ordine.\nRestiamo a disposizione per qualsiasi domanda.",
    ),
    "pt": (
        "Apoio ao Cliente Exemplo",
        "Obrigado pelo contacto. Verificámos a sua encomenda.\nEstamos ao dispor para qualquer dúvida.",
    ),
    "nl": (
        "Klantenservice Voorbeeld",
        "Bedankt voor je bericht. We hebben je bestelling gecontroleerd.\nLaat het ons weten als er nog vragen zijn.",
    ),
    "pl": (
        "Obsługa Klienta Przykład",
        "dziękujemy za wiadomość. Sprawdziliśmy Pani/Pana zamówienie.\nW razie pytań jesteśmy do dyspozycji.",
    ),
    "ru": (
        "Служба поддержки Пример",
        "спасибо за обращение. Мы проверили ваш заказ.\nЕсли остались вопросы, напишите нам.",
    ),
    "uk": (
        "Служба підтримки Приклад",
        "дякуємо за звернення. Ми перевірили ваше замовлення.\nЯкщо залишилися питання, напишіть нам.",
    ),
    "cs": (
        "Zákaznická podpora Příklad",
        "děkujeme za zprávu. Vaši objednávku jsme zkontrolovali.\nV případě dotazů jsme vám k dispozici.",
    ),
    "sv": (
        "Kundtjänst Exempel",
        "tack för ditt meddelande. Vi har kontrollerat din beställning.\nHör av dig om något är oklart.",
    ),
    "ja": (
        "サンプルショップ サポート",
        "お問い合わせありがとうございます。ご注文内容を確認いたしました。\nご不明な点がございましたらお知らせください。",
    ),
    "zh": (
        "示例商店客服",
        "感谢您的来信。我们已经核实了您的订单。\n如有其他问题，请随时联系我们。",
    ),
    "tr": (
        "Örnek Mağaza Destek",
        "Bizimle iletişime geçtiğiniz için teşekkürler. Siparişinizi kontrol ettik.\nBaşka sorunuz olursa yazabilirsiniz.",
    ),
}

SUBJECT = {
    "en": "Your order 10042",
    "de": "Ihre Bestellung 10042",
    "fr": "Votre commande 20417",
    "es": "Su pedido 30552",
    "it": "Il suo ordine 40981",
    "pt": "A sua encomenda 50231",
    "nl": "Je bestelling 61120",
    "pl": "Zamówienie 70418",
    "ru": "Ваш заказ 80214",
    "uk": "Ваше замовлення 90117",
    "cs": "Vaše objednávka 11503",
    "sv": "Din beställning 12260",
    "ja": "ご注文13318について",
    "zh": "关于您的订单14427",
    "tr": "15520 numaralı siparişiniz",
}

# language -> short notes customers put above a forward
FORWARD_NOTE = {
    "en": [
        "Hi,\n\nsee the confirmation below - the size on it is wrong, I ordered a M.",
        "Hello, this is the invoice I mentioned on the phone. The VAT is missing.",
    ],
    "de": [
        "Hallo,\n\nunten die Bestätigung, da steht die falsche Farbe drauf.",
        "Guten Tag, anbei die Rechnung, um die es geht. Der Betrag stimmt nicht.",
    ],
    "fr": ["Bonjour,\n\nvoici la confirmation reçue, la quantité est fausse (2 au lieu de 1)."],
    "es": ["Hola,\n\nos reenvío la confirmación, la dirección está mal escrita."],
    "it": ["Buongiorno,\n\nvi inoltro la conferma: l'indirizzo di consegna è sbagliato."],
    "pt": ["Olá,\n\nreencaminho a confirmação, o número da porta está errado."],
    "nl": ["Hallo,\n\nhieronder de bevestiging, het huisnummer klopt niet."],
    "pl": ["Dzień dobry,\n\nprzesyłam potwierdzenie, jest w nim zły rozmiar."],
    "ru": ["Здравствуйте,\n\nпересылаю подтверждение заказа, там неверный адрес."],
    "uk": ["Добрий день,\n\nпересилаю підтвердження, у ньому неправильний номер телефону."],
    "cs": ["Dobrý den,\n\nposílám potvrzení objednávky, je tam špatná adresa."],
    "sv": ["Hej,\n\nhär är bekräftelsen, fel storlek står på den."],
    "ja": ["お世話になっております。\n\n注文確認メールを転送します。サイズが間違っています。"],
    "zh": ["您好，\n\n转发订单确认邮件，上面的地址写错了。"],
    "tr": ["Merhaba,\n\nsipariş onayını iletiyorum, adres yanlış yazılmış."],
}

# language -> the forwarded order confirmation (sender name, subject, text)
CONFIRMATION = {
    "en": (
        "Example Shop",
        "Order confirmation 10077",
        "Thank you for your order 10077.\n\n1 x Rain jacket, size L, blue    89.00 GBP\nDelivery: 3-5 working days\n\nYour Example Shop team",
    ),
    "de": (
        "Beispiel-Shop",
        "Bestellbestätigung 10078",
        "Vielen Dank für Ihre Bestellung 10078.\n\n1 x Wanderschuh, Gr. 42, grün    119,00 EUR\nLieferzeit: 2-4 Werktage\n\nIhr Beispiel-Shop-Team",
    ),
    "fr": (
        "Boutique Exemple",
        "Confirmation de commande 20480",
        "Merci pour votre commande 20480.\n\n2 x Tasse en grès    24,00 EUR\nLivraison : 3 à 5 jours ouvrés",
    ),
    "es": (
        "Tienda Ejemplo",
        "Confirmación del pedido 30599",
        "Gracias por tu pedido 30599.\n\nDirección de entrega: C/ Mayor 3, 28013 Madird\nEntrega: 2-3 días laborables",
    ),
    "it": (
        "Negozio Esempio",
        "Conferma ordine 40990",
        "Grazie per il suo ordine 40990.\n\nIndirizzo di consegna: Via Roma 10, 20121 Milano\nConsegna prevista: 3 giorni lavorativi",
    ),
    "pt": (
        "Loja Exemplo",
        "Confirmação da encomenda 50277",
        "Obrigado pela sua encomenda 50277.\n\nMorada: Rua das Flores 21, 1200-195 Lisboa\nEntrega: 2 a 4 dias úteis",
    ),
    "nl": (
        "Voorbeeldwinkel",
        "Bevestiging bestelling 61177",
        "Bedankt voor je bestelling 61177.\n\nBezorgadres: Kerkstraat 8, 1017 GB Amsterdam\nLevering: morgen",
    ),
    "pl": (
        "Sklep Przykład",
        "Potwierdzenie zamówienia 70455",
        "Dziękujemy za zamówienie 70455.\n\n1 x Kurtka zimowa, rozmiar S    349,00 PLN\nDostawa: 2 dni robocze",
    ),
    "ru": (
        "Магазин Пример",
        "Подтверждение заказа 80277",
        "Спасибо за заказ 80277.\n\nАдрес доставки: ул. Ленина, д. 5, кв. 12, Москва\nДоставка: 3-5 дней",
    ),
    "uk": (
        "Магазин Приклад",
        "Підтвердження замовлення 90155",
        "Дякуємо за замовлення 90155.\n\nТелефон одержувача: +380 44 000 00 00\nДоставка: 2-3 дні",
    ),
    "cs": (
        "Obchod Příklad",
        "Potvrzení objednávky 11590",
        "Děkujeme za objednávku 11590.\n\nDoručovací adresa: Dlouhá 5, 110 00 Praha\nDoručení: 2 pracovní dny",
    ),
    "sv": (
        "Exempelbutiken",
        "Orderbekräftelse 12288",
        "Tack för din beställning 12288.\n\n1 x Regnjacka, storlek S    799 SEK\nLeverans: 2-4 arbetsdagar",
    ),
    "ja": (
        "サンプルストア",
        "ご注文確認 13355",
        "ご注文ありがとうございます。注文番号13355\n\nTシャツ（Sサイズ・白）1点　2,980円\nお届け予定：3日以内",
    ),
    "zh": (
        "示例商城",
        "订单确认 14455",
        "感谢您的订购，订单号14455。\n\n收货地址：上海市浦东新区世纪大道100号\n预计送达：3天内",
    ),
    "tr": (
        "Örnek Mağaza",
        "Sipariş onayı 15577",
        "15577 numaralı siparişiniz için teşekkür ederiz.\n\nTeslimat adresi: Atatürk Cad. No 5, Kadıköy İstanbul\nTeslimat: 2-3 iş günü",
    ),
}

# (language, subject, text): first mails that must be answered, some looking like robots' mail
HUMAN_NEW: list[tuple[str, str, str]] = [
    (
        "en",
        "My order was not delivered",
        'Hello,\n\nmy order 10555 was not delivered. The tracking says "delivery failed"\nand the courier left no note. Can you send it again?',
    ),
    (
        "en",
        "Mail delivery failed?",
        'Hi,\n\nI wrote to your billing address yesterday and got a message saying\n"Mail delivery failed". Is billing@shop.example.com still the right address?\nI need a copy of invoice 2026-0917.',
    ),
    (
        "en",
        "Out of office next week - please hold my parcel",
        "Hi,\n\nI'll be out of the office from 14 to 18 December, so nobody can take\nthe parcel for order 10601. Could you hold it and ship it on the 21st?",
    ),
    (
        "en",
        "Returned mail",
        "Hello,\n\nthe parcel for order 10622 came back to you as undeliverable because the\nflat number was missing. It is flat 3B. Please send it again.",
    ),
    (
        "en",
        "Automatic renewal",
        "Hi,\n\nI did not expect the automatic renewal of my subscription. Please cancel\nit and refund the charge from December 1st.",
    ),
    (
        "de",
        "Paket nicht zugestellt",
        "Hallo,\n\nmein Paket wurde laut Sendungsverfolgung nicht zugestellt, der Bote hat\nes wieder mitgenommen. Wie bekomme ich es jetzt?",
    ),
    (
        "de",
        "Abwesenheit",
        "Guten Tag,\n\nich bin ab Montag zwei Wochen im Urlaub. Bitte liefern Sie die Bestellung\n10699 erst ab dem 28. Dezember.",
    ),
    (
        "de",
        "Unzustellbar?",
        "Hallo,\n\nmeine letzte Mail an Sie kam als unzustellbar zurück. Deshalb noch einmal:\nich möchte die Bestellung 10712 stornieren.",
    ),
    (
        "fr",
        "Colis non livré",
        'Bonjour,\n\nmon colis n\'a jamais été livré alors que le suivi indique "livré".\nPouvez-vous ouvrir une enquête ?',
    ),
    (
        "fr",
        "Absence",
        "Bonjour,\n\nje serai absente du 20 au 27 décembre. Merci de ne pas expédier\nla commande 20577 avant mon retour.",
    ),
    (
        "es",
        "Pedido no entregado",
        "Hola,\n\nmi pedido 30640 figura como no entregado y nadie vino a casa.\n¿Podéis reprogramar la entrega?",
    ),
    (
        "it",
        "Consegna non riuscita",
        "Buongiorno,\n\nho ricevuto un avviso di consegna non riuscita, ma ero a casa tutto il giorno.\nPotete verificare?",
    ),
    (
        "pt",
        "Entrega falhada",
        "Olá,\n\nrecebi uma mensagem de entrega falhada, mas estive em casa.\nPodem reagendar?",
    ),
    (
        "nl",
        "Niet bezorgd",
        "Hallo,\n\nmijn pakket is volgens de track & trace niet bezorgd.\nKunnen jullie nagaan waar het is?",
    ),
    (
        "pl",
        "Przesyłka niedostarczona",
        'Dzień dobry,\n\nprzesyłka ma status "niedostarczona", a kurier nie dzwonił.\nCo mam zrobić?',
    ),
    (
        "ru",
        "Письмо не доставлено?",
        "Здравствуйте!\n\nмоё письмо на адрес отдела продаж вернулось с ошибкой доставки.\nПодскажите правильный адрес, мне нужен счёт на оплату.",
    ),
    (
        "ru",
        "Посылка не пришла",
        "Добрый день,\n\nпосылка по заказу 80390 так и не пришла, трек-номер не обновляется.\nПомогите, пожалуйста.",
    ),
    (
        "uk",
        "Посилка не доставлена",
        "Добрий день,\n\nпосилку так і не доставили, статус не змінюється вже тиждень.",
    ),
    (
        "cs",
        "Nedoručená zásilka",
        "Dobrý den,\n\nzásilka mi nebyla doručena, kurýr nezvonil.\nMůžete doručení zopakovat?",
    ),
    (
        "sv",
        "Inte levererat",
        'Hej,\n\nmitt paket har inte levererats och spårningen säger "leveransen misslyckades".\nVad händer nu?',
    ),
    (
        "ja",
        "配達されていません",
        "お世話になっております。\n\n注文番号13401の商品がまだ配達されていません。\n確認をお願いできますでしょうか。",
    ),
    ("zh", "包裹未送达", "您好，\n\n我的包裹显示投递失败，但我一直在家。请帮忙查一下。"),
    (
        "tr",
        "Teslim edilmedi",
        "Merhaba,\n\nkargom teslim edilemedi olarak görünüyor ama evdeydim.\nTekrar gönderebilir misiniz?",
    ),
    (
        "en",
        "Re: Undelivered Mail Returned to Sender",
        "Hi,\n\nI keep getting this error when I write to your sales team. Is there\nanother address I can use? I want to order 40 units.",
    ),
    (
        "de",
        "Automatische Antwort erhalten",
        "Hallo,\n\nauf meine Frage kam nur eine automatische Antwort. Ich warte seit\neiner Woche auf die Gutschrift für die Rücksendung 10733.",
    ),
]
