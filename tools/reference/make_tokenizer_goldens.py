#!/usr/bin/python3
"""Golden files for spade_encoder's WordPiece tokenizer.

An independent Python implementation of BERT's reference tokenization (BasicTokenizer +
WordpieceTokenizer, as Hugging Face's BertTokenizer runs it, with Python's unicodedata)
writes tests/encoder/goldens/wordpiece_{uncased,cased}.jsonl: one JSON object per line,
{"text": ..., "tokens": [...], "ids": [...]} (ids without [CLS]/[SEP]).

Run: /usr/bin/python3 tools/reference/make_tokenizer_goldens.py
"""
import json
import os
import unicodedata

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VOCAB = os.path.join(ROOT, "data", "tokenizers", "bert-base-uncased-vocab.txt")
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punct(c):
    o = ord(c)
    return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or unicodedata.category(c).startswith("P")


def is_cjk(o):
    return any(a <= o <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def basic(text, lower):
    out = []
    # special tokens stay whole
    i, start = 0, 0
    segments = []
    while i < len(text):
        hit = next((s for s in SPECIALS if text.startswith(s, i)), None)
        if hit:
            segments.append((text[start:i], False))
            segments.append((hit, True))
            i += len(hit)
            start = i
        else:
            i += 1
    segments.append((text[start:], False))
    for seg, special in segments:
        if special:
            out.append(seg)
            continue
        s = ""
        for c in seg:
            if ord(c) == 0 or ord(c) == 0xFFFD or is_control(c):
                continue
            if is_whitespace(c):
                s += " "
            elif is_cjk(ord(c)):
                s += " " + c + " "
            else:
                s += c
        s = unicodedata.normalize("NFC", s)
        for w in s.split():
            if lower:
                w = w.lower()
                w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
            cur = ""
            for c in w:
                if is_punct(c):
                    if cur:
                        out.append(cur)
                    cur = ""
                    out.append(c)
                else:
                    cur += c
            if cur:
                out.append(cur)
    return out


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        cur = None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


CASES = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "unaffable unbelievably tokenization",
    "I dug the ground to plant flowers. What did I dig with?",
    "don't stop-believing... (really) [yes] {no} <maybe> a/b\\c @user #tag $5 50% ^_^ ~tilde`",
    "¿Qué? ¡Sí! «quoted» „low“ — em–en dash … ellipsis",
    "Héllo Wörld café naïve résumé Ångström façade",
    "ÀÉÎÕÜ àéîõü Ćđ Łódź",
    "ΑΒΓ Δέλτα Москва ПРИВЕТ",
    "我爱自然语言处理。北京欢迎你！",
    "日本語のテキストと한국어 텍스트",
    "mixed中文and english",
    "emoji 😀 test 👍🏽 family 👨‍👩‍👧 flag 🇫🇷 heart ❤️",
    "tabs\tand\nnewlines\r\nand  multiple   spaces\u00a0nbsp\u3000ideographic",
    "control\u0001chars\u0007and\u200bzero\u200dwidth\ufeffbom",
    "a" * 100,
    "b" * 101,
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "[CLS] the [MASK] sat on the mat [SEP] [PAD]",
    "numbers 3.14159 1,000,000 2024-01-01 +1-555-0100",
    "x\u0301 combining acute, e\u0300 grave",
    "  leading and trailing  ",
    "",
    "ＦＵＬＬＷＩＤＴＨ ｆｕｌｌ",
    "ﬁ ligature and ½ fraction ² superscript",
    "http://example.com/path?query=1&b=2",
    "line\u2028separator\u2029paragraph",
]


def main():
    vocab = {}
    with open(VOCAB, encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    outdir = os.path.join(ROOT, "tests", "encoder", "goldens")
    os.makedirs(outdir, exist_ok=True)
    for name, lower in (("uncased", True), ("cased", False)):
        with open(os.path.join(outdir, f"wordpiece_{name}.jsonl"), "w", encoding="utf-8") as f:
            for text in CASES:
                tokens = []
                for w in basic(text, lower):
                    tokens.extend([w] if w in SPECIALS and w in vocab else wordpiece(w, vocab))
                ids = [vocab.get(t, vocab["[UNK]"]) for t in tokens]
                f.write(json.dumps({"text": text, "tokens": tokens, "ids": ids}, ensure_ascii=False) + "\n")
    print("wrote", outdir)


if __name__ == "__main__":
    main()
