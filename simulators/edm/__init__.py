"""OOTS Exchange Data Model: typed model, builders and parsers of QueryRequest / QueryResponse / exceptions.

    from simulators.edm import QueryRequest, to_bytes, parse_message
    req = parse_message(data)            # QueryRequest | QueryResponse | ExceptionResponse, or EdmParseError
    data = to_bytes(req)                 # v2.0 or v1.2 shape, chosen by req.version
"""
from .model import *  # noqa: F401,F403
from .model import __all__ as _model_all
from .build import build_exception, build_request, build_response, to_bytes, to_element
from .parse import EdmParseError, parse_exception, parse_message, parse_request, parse_response

__all__ = [*_model_all, "to_element", "to_bytes", "build_request", "build_response", "build_exception",
           "EdmParseError", "parse_message", "parse_request", "parse_response", "parse_exception"]
