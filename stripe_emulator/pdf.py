"""A minimal PDF 1.4 writer (standard library only): pages of text in the
standard Helvetica fonts and straight lines - enough for an invoice.  Text is
encoded as WinAnsi (cp1252); characters outside it print as ``?``."""

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
FONTS = {"regular": "F1", "bold": "F2"}


class Page:
    def __init__(self):
        self.operations = []

    def text(self, x, y, string, size=10, font="regular"):
        self.operations.append("BT /%s %d Tf %.2f %.2f Td (%s) Tj ET" % (FONTS[font], size, x, y, _escape(string)))

    def rule(self, x1, y1, x2, y2, width=0.5):
        self.operations.append("%.2f w %.2f %.2f m %.2f %.2f l S" % (width, x1, y1, x2, y2))

    def stream(self):
        return "\n".join(self.operations).encode("cp1252", errors="replace")


class Document:
    def __init__(self, title):
        self.title = title
        self.pages = []

    def new_page(self):
        page = Page()
        self.pages.append(page)
        return page

    def render(self):
        """The file's bytes: catalog, page tree, two fonts, then a page and its content stream per page."""
        page_ids = [5 + 2 * index for index in range(len(self.pages))]
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>"
            % (b" ".join(b"%d 0 R" % pid for pid in page_ids), len(self.pages)),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        ]
        for page_id, page in zip(page_ids, self.pages, strict=True):
            content = page.stream()
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (PAGE_WIDTH, PAGE_HEIGHT, page_id + 1)
            )
            objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Title (%s) /Producer (stripe-emulator) >>" % _escape(self.title).encode("cp1252", "replace")
        )
        return _assemble(objects)


def _assemble(objects):
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)


def _escape(string):
    return (
        str(string).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", " ").replace("\n", " ")
    )
