"""rocket/config"""
