"""A loopback stand-in for the ECB's web server (http.server in a thread): it serves a realistic
eurofxref-daily.xml, or the status a test asks for, and counts the requests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The shape of https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml (rates of 2024-06-28).
DAILY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='{day}'>
\t\t\t<Cube currency='USD' rate='1.0705'/>
\t\t\t<Cube currency='JPY' rate='171.94'/>
\t\t\t<Cube currency='BGN' rate='1.9558'/>
\t\t\t<Cube currency='CZK' rate='25.025'/>
\t\t\t<Cube currency='DKK' rate='7.4575'/>
\t\t\t<Cube currency='GBP' rate='0.84638'/>
\t\t\t<Cube currency='HUF' rate='395.10'/>
\t\t\t<Cube currency='PLN' rate='4.3090'/>
\t\t\t<Cube currency='RON' rate='4.9773'/>
\t\t\t<Cube currency='SEK' rate='11.3595'/>
\t\t\t<Cube currency='CHF' rate='0.9634'/>
\t\t\t<Cube currency='ISK' rate='148.90'/>
\t\t\t<Cube currency='NOK' rate='11.3965'/>
\t\t\t<Cube currency='TRY' rate='35.1868'/>
\t\t\t<Cube currency='AUD' rate='1.6079'/>
\t\t\t<Cube currency='BRL' rate='5.8915'/>
\t\t\t<Cube currency='CAD' rate='1.4670'/>
\t\t\t<Cube currency='CNY' rate='7.7748'/>
\t\t\t<Cube currency='HKD' rate='8.3594'/>
\t\t\t<Cube currency='IDR' rate='17487.21'/>
\t\t\t<Cube currency='ILS' rate='4.0200'/>
\t\t\t<Cube currency='INR' rate='89.2495'/>
\t\t\t<Cube currency='KRW' rate='1474.86'/>
\t\t\t<Cube currency='MXN' rate='19.5654'/>
\t\t\t<Cube currency='MYR' rate='5.0501'/>
\t\t\t<Cube currency='NZD' rate='1.7601'/>
\t\t\t<Cube currency='PHP' rate='62.560'/>
\t\t\t<Cube currency='SGD' rate='1.4513'/>
\t\t\t<Cube currency='THB' rate='39.319'/>
\t\t\t<Cube currency='ZAR' rate='19.4970'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""
ECB_CURRENCIES = 30


class EcbServer:
    def __init__(self, day: str = "2024-06-28") -> None:
        self.day = day
        self.statuses: list[int] = []  # answered in order before the file; then the file
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                status = server.statuses.pop(0) if server.statuses else 200
                body = DAILY_XML.format(day=server.day).encode() if status == 200 else b"Internal Server Error"
                self.send_response(status)
                self.send_header("content-type", "text/xml" if status == 200 else "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stats/eurofxref/eurofxref-daily.xml"

    def start(self) -> EcbServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
