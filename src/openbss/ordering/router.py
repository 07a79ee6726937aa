from fastapi import APIRouter

router = APIRouter()
inventory_router = APIRouter()
