"""rocket/cli"""
