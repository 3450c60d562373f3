"""RFC 5322 syntax that both the connectors and the daemon read and write.

Decides the shape of message text independent of any server or policy: what a msg-id is and how
our In-Reply-To/References are written (`msgid`), which stranger's text may stand in a header we
write (`headertext`), and where a raw message's header block ends and which Message-ID it
names, read without a parse (`head`). It sits below both `connectors/` (a helpdesk looks a mail
up by its Message-ID, SMTP checks envelope addresses) and `daemon/mail` (the parser), so neither
side imports the other to agree on the syntax.
"""
