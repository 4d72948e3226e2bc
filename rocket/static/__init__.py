"""rocket/static"""
