"""Clark names of the RegRep/SDG elements and attributes that the EDM builders and parsers share."""
from conformance.rules.ns import NS

Q = "{%s}" % NS["query"]
RIM = "{%s}" % NS["rim"]
RS = "{%s}" % NS["rs"]
SDG = "{%s}" % NS["sdg"]
XLINK = "{%s}" % NS["xlink"]
XSI_TYPE = "{%s}type" % NS["xsi"]
XML_LANG = "{%s}lang" % NS["xml"]
SLOT, SLOT_VALUE, VALUE, ELEMENT = RIM + "Slot", RIM + "SlotValue", RIM + "Value", RIM + "Element"
LOCALIZED = RIM + "LocalizedString"
REGISTRY_OBJECT, REGISTRY_OBJECT_LIST = RIM + "RegistryObject", RIM + "RegistryObjectList"
