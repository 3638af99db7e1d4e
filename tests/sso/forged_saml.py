"""ForgedIdpFake: changes a real SAML response from SimpleSAMLphp the way an attacker (or a broken
provider) would, and re-signs it when the case needs a valid signature: with the provider's own
key, to show that Tessera's own checks refuse it, or with another key.

The responses start as real ones, so everything not changed on purpose is as the provider sent it.
"""

import base64
import copy
from dataclasses import dataclass

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}


@dataclass
class PostedResponse:
    """What the provider's page would post to Tessera's ACS."""

    acs: str
    saml_response: str
    relay_state: str

    @property
    def xml(self) -> bytes:
        return base64.b64decode(self.saml_response)

    def form(self, xml: bytes | None = None, relay_state: str | None = None) -> dict[str, str]:
        encoded = base64.b64encode(xml).decode() if xml is not None else self.saml_response
        return {"SAMLResponse": encoded, "RelayState": self.relay_state if relay_state is None else relay_state}


class ForgedIdpFake:
    def __init__(self, key_pem: str, certificate_pem: str) -> None:
        self.key_pem, self.certificate_pem = key_pem, certificate_pem

    @staticmethod
    def parse(xml: bytes) -> etree._Element:
        return etree.fromstring(xml)

    @staticmethod
    def assertion(root: etree._Element) -> etree._Element:
        return root.find("saml:Assertion", NS)

    @staticmethod
    def strip_signatures(root: etree._Element, response_only: bool = False) -> etree._Element:
        path = "ds:Signature" if response_only else ".//ds:Signature"
        for signature in root.findall(path, NS):
            signature.getparent().remove(signature)
        return root

    def sign(self, root: etree._Element, key_pem: str | None = None, cert_pem: str | None = None,
             algorithm: str = C.RSA_SHA256, digest: str = C.SHA256) -> bytes:  # fmt: skip
        """Remove every signature, then sign the assertion and the response (as SimpleSAMLphp does)."""
        key, cert = key_pem or self.key_pem, cert_pem or self.certificate_pem
        root = self.strip_signatures(copy.deepcopy(root))
        assertion = self.assertion(root)
        signed_assertion = etree.fromstring(
            OneLogin_Saml2_Utils.add_sign(
                etree.tostring(assertion), key, cert, sign_algorithm=algorithm, digest_algorithm=digest
            )  # fmt: skip
        )
        root.replace(assertion, signed_assertion)
        return OneLogin_Saml2_Utils.add_sign(root, key, cert, sign_algorithm=algorithm, digest_algorithm=digest)

    def sign_message_only(self, root: etree._Element) -> bytes:
        """Sign the response as it is (its assertion left unsigned), with the provider's key."""
        root = self.strip_signatures(copy.deepcopy(root), response_only=True)
        return OneLogin_Saml2_Utils.add_sign(root, self.key_pem, self.certificate_pem)

    @staticmethod
    def tostring(root: etree._Element) -> bytes:
        return etree.tostring(root)

    @staticmethod
    def set_all(root: etree._Element, path: str, attribute: str | None, value: str) -> None:
        nodes = root.findall(path, NS)
        assert nodes, f"nothing at {path}"
        for node in nodes:
            if attribute:
                node.set(attribute, value)
            else:
                node.text = value

    @staticmethod
    def remove_all(root: etree._Element, path: str) -> None:
        nodes = root.findall(path, NS)
        assert nodes, f"nothing at {path}"
        for node in nodes:
            node.getparent().remove(node)

    # Signature wrapping: the signed assertion stays somewhere in the document, and an unsigned one
    # with another subject is where an SP that checks "a signature" but reads "the assertion" looks.
    @classmethod
    def evil_twin(cls, root: etree._Element, subject: str) -> etree._Element:
        evil = copy.deepcopy(cls.assertion(root))
        evil.set("ID", "_evil" + evil.get("ID"))
        cls.strip_signatures(evil)
        for name_id in evil.findall(".//saml:NameID", NS):
            name_id.text = subject
        return evil

    @classmethod
    def wrap_twin_first(cls, xml: bytes, subject: str) -> bytes:
        """The evil assertion before the signed one."""
        root = cls.strip_signatures(cls.parse(xml), response_only=True)
        original = cls.assertion(root)
        original.addprevious(cls.evil_twin(root, subject))
        return etree.tostring(root)

    @classmethod
    def wrap_original_in_extensions(cls, xml: bytes, subject: str) -> bytes:
        """The signed assertion moved into the response's Extensions; the evil one in its place."""
        root = cls.strip_signatures(cls.parse(xml), response_only=True)
        original = cls.assertion(root)
        evil = cls.evil_twin(root, subject)
        original.addprevious(evil)
        extensions = etree.Element(f"{{{C.NS_SAMLP}}}Extensions")
        root.find("saml:Issuer", NS).addnext(extensions)
        extensions.append(original)
        return etree.tostring(root)

    @classmethod
    def wrap_original_in_evil_advice(cls, xml: bytes, subject: str) -> bytes:
        """The signed assertion inside the evil assertion's Advice, carrying its signature along."""
        root = cls.strip_signatures(cls.parse(xml), response_only=True)
        original = cls.assertion(root)
        evil = cls.evil_twin(root, subject)
        signature = copy.deepcopy(original.find("ds:Signature", NS))
        evil.find("saml:Issuer", NS).addnext(signature)  # the signature references the original's ID
        advice = etree.SubElement(evil, f"{{{C.NS_SAML}}}Advice")
        advice.append(copy.deepcopy(original))
        root.replace(original, evil)
        return etree.tostring(root)

    @classmethod
    def wrap_signature_only(cls, xml: bytes, subject: str) -> bytes:
        """One assertion only, the evil one, carrying the original's signature (which names the
        original's ID, now gone)."""
        root = cls.strip_signatures(cls.parse(xml), response_only=True)
        original = cls.assertion(root)
        evil = cls.evil_twin(root, subject)
        evil.find("saml:Issuer", NS).addnext(copy.deepcopy(original.find("ds:Signature", NS)))
        root.replace(original, evil)
        return etree.tostring(root)
