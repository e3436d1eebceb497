"""Thin simulator adapters. Each adapter imports its simulator inside itself, never at package import."""
