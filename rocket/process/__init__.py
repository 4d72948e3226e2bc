"""rocket/process"""
